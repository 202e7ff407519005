//! Typed parse errors of the HL7 v2 parser.
//!
//! Errors name the segment (by id or position), the field and a fixed reason. They never carry
//! message content: HL7 messages are PHI, and these errors end up in logs and dead-letter headers.

use std::fmt;

/// What went wrong, as a closed set with stable names (see [`ParseErrorKind::as_str`]) usable as
/// a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input holds no segment at all (zero bytes, or only blank lines / framing bytes).
    Empty,
    /// The first segment is not `MSH`.
    MissingMsh,
    /// MSH-1/MSH-2 do not define a usable set of delimiters.
    BadDelimiters,
    /// The MSH segment ends before its encoding characters are complete.
    TruncatedMsh,
    /// A segment does not start with a 3-character id followed by the field separator.
    BadSegmentId,
    /// A second `MSH` was found: the input holds several messages (use `split_messages`).
    MultipleMessages,
    /// A batch/file envelope segment (FHS, BHS, BTS, FTS) was found inside a message
    /// (use `split_messages`).
    BatchEnvelope,
    /// The input is larger than the parser supports (4 GiB).
    TooLarge,
}

impl ParseErrorKind {
    /// Stable snake_case name, e.g. `"bad_delimiters"`; safe as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::Empty => "empty",
            ParseErrorKind::MissingMsh => "missing_msh",
            ParseErrorKind::BadDelimiters => "bad_delimiters",
            ParseErrorKind::TruncatedMsh => "truncated_msh",
            ParseErrorKind::BadSegmentId => "bad_segment_id",
            ParseErrorKind::MultipleMessages => "multiple_messages",
            ParseErrorKind::BatchEnvelope => "batch_envelope",
            ParseErrorKind::TooLarge => "too_large",
        }
    }

    /// Every kind, e.g. to pre-register metric label values.
    pub const ALL: [ParseErrorKind; 8] = [
        ParseErrorKind::Empty,
        ParseErrorKind::MissingMsh,
        ParseErrorKind::BadDelimiters,
        ParseErrorKind::TruncatedMsh,
        ParseErrorKind::BadSegmentId,
        ParseErrorKind::MultipleMessages,
        ParseErrorKind::BatchEnvelope,
        ParseErrorKind::TooLarge,
    ];
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message could not be parsed.
///
/// `Display` reads like `segment MSH field 2: encoding characters incomplete` or
/// `segment #3: segment id is not 3 letters or digits followed by the field separator`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Segment id (e.g. `"MSH"`), only when it is a valid 3-character id; never content.
    pub segment: Option<String>,
    /// 1-based position of the segment in the message (blank lines not counted).
    pub position: Option<usize>,
    /// HL7 field number (MSH-1 is the field separator).
    pub field: Option<usize>,
    /// Fixed, value-free explanation.
    pub reason: &'static str,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, reason: &'static str) -> Self {
        ParseError {
            kind,
            segment: None,
            position: None,
            field: None,
            reason,
        }
    }

    pub(crate) fn in_segment(mut self, id: &str) -> Self {
        self.segment = Some(id.to_owned());
        self
    }

    pub(crate) fn at_position(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }

    pub(crate) fn at_field(mut self, field: usize) -> Self {
        self.field = Some(field);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        match (&self.segment, self.position) {
            (Some(id), Some(pos)) => {
                write!(f, "segment #{pos} {id}")?;
                wrote = true;
            }
            (Some(id), None) => {
                write!(f, "segment {id}")?;
                wrote = true;
            }
            (None, Some(pos)) => {
                write!(f, "segment #{pos}")?;
                wrote = true;
            }
            (None, None) => {}
        }
        if let Some(field) = self.field {
            if wrote {
                f.write_str(" ")?;
            }
            write!(f, "field {field}")?;
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        f.write_str(self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_segment_field_and_reason() {
        let e = ParseError::new(
            ParseErrorKind::BadDelimiters,
            "encoding characters incomplete",
        )
        .in_segment("MSH")
        .at_field(2);
        assert_eq!(
            e.to_string(),
            "segment MSH field 2: encoding characters incomplete"
        );
        let e = ParseError::new(ParseErrorKind::BadSegmentId, "bad id").at_position(3);
        assert_eq!(e.to_string(), "segment #3: bad id");
        let e = ParseError::new(ParseErrorKind::Empty, "no segments");
        assert_eq!(e.to_string(), "no segments");
    }

    #[test]
    fn kind_names_are_stable_and_unique() {
        let names: std::collections::HashSet<_> =
            ParseErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ParseErrorKind::ALL.len());
        assert_eq!(ParseErrorKind::TruncatedMsh.as_str(), "truncated_msh");
        assert_eq!(ParseErrorKind::BadSegmentId.to_string(), "bad_segment_id");
    }
}
