//! Why a parsed HL7 message is not a usable ADT event.
//!
//! Errors name segment, field and a fixed reason, never field values (messages are PHI).

/// A parsed message that cannot become an [`AdtEvent`](super::AdtEvent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdtError {
    /// MSH-9.1 (message code) is empty or absent.
    #[error("segment MSH field 9: message type is empty")]
    MissingMessageType,
    /// MSH-9.1 is present but is not `ADT`.
    #[error("segment MSH field 9: message type is not ADT")]
    NotAdt,
    /// Neither MSH-9.2 nor EVN-1 carries a trigger event.
    #[error("segment MSH field 9: trigger event is empty (and EVN-1 is empty or absent)")]
    MissingTrigger,
    /// A single-patient event (A01–A08, A11, A13) holds a second PID or PV1: most likely two
    /// messages run together because the second one's MSH is damaged or missing. Taking the
    /// first would silently drop the second patient's event.
    #[error("segment {0}: repeated in a single-patient event (a damaged or missing MSH may have joined two messages)")]
    RepeatedSegment(&'static str),
}

impl AdtError {
    /// Stable snake_case name, safe as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            AdtError::MissingMessageType => "missing_message_type",
            AdtError::NotAdt => "not_adt",
            AdtError::MissingTrigger => "missing_trigger",
            AdtError::RepeatedSegment(_) => "repeated_segment",
        }
    }

    /// The segment the error is about.
    pub fn segment(&self) -> &'static str {
        match self {
            AdtError::RepeatedSegment(segment) => segment,
            _ => "MSH",
        }
    }

    /// The HL7 field number the error is about (`None` for the whole segment).
    pub fn field(&self) -> Option<usize> {
        match self {
            AdtError::RepeatedSegment(_) => None,
            _ => Some(9),
        }
    }

    /// Fixed, value-free explanation.
    pub fn reason(&self) -> &'static str {
        match self {
            AdtError::MissingMessageType => "message type is empty",
            AdtError::NotAdt => "message type is not ADT",
            AdtError::MissingTrigger => "trigger event is empty (and EVN-1 is empty or absent)",
            AdtError::RepeatedSegment(_) => {
                "repeated in a single-patient event (a damaged or missing MSH may have joined two messages)"
            }
        }
    }
}
