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
}

impl AdtError {
    /// Stable snake_case name, safe as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            AdtError::MissingMessageType => "missing_message_type",
            AdtError::NotAdt => "not_adt",
            AdtError::MissingTrigger => "missing_trigger",
        }
    }

    /// The segment the error is about.
    pub fn segment(&self) -> &'static str {
        "MSH"
    }

    /// The HL7 field number the error is about.
    pub fn field(&self) -> usize {
        9
    }

    /// Fixed, value-free explanation.
    pub fn reason(&self) -> &'static str {
        match self {
            AdtError::MissingMessageType => "message type is empty",
            AdtError::NotAdt => "message type is not ADT",
            AdtError::MissingTrigger => "trigger event is empty (and EVN-1 is empty or absent)",
        }
    }
}
