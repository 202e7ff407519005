//! Sans-io HL7 v2 ER7 parser: the first stage of the pipeline. No I/O, no tokio.
//!
//! - [`framing`]: [`split_messages`] cuts raw input (a file, a Kafka record) into messages:
//!   UTF-8 BOM, MLLP frames, FHS/BHS/BTS/FTS batch envelopes (with count checks), blank lines.
//! - [`message`]: [`Message::parse`] validates one message and records segment spans; the
//!   delimiters come from MSH-1/MSH-2 ([`Delimiters`]).
//! - [`segment`]: lazy field access ([`Segment`] → [`Field`] → [`Repetition`] → [`Component`]
//!   → [`Subcomponent`]).
//! - [`escape`]: escape sequences and text decoding (UTF-8 with Latin-1 fallback).
//! - [`datetime`]: HL7 TS/DTM timestamps ([`Timestamp`]) with a few lenient vendor formats.
//! - [`error`]: [`ParseError`] with a stable [`ParseErrorKind`] name; never carries values.
//!
//! ```
//! use readmit::hl7::{split_messages, Message};
//!
//! let input = b"MSH|^~\\&|APP|FAC|||20260101120000||ADT^A03|42|P|2.5\rPV1|1|I\r";
//! for raw in split_messages(input) {
//!     let msg = Message::parse(raw).unwrap();
//!     let msh = msg.segment("MSH").unwrap();
//!     assert_eq!(msh.value(9, 2).as_deref(), Some("A03"));
//!     assert_eq!(msg.segment("PV1").unwrap().value(2, 1).as_deref(), Some("I"));
//! }
//! ```

pub mod datetime;
pub mod error;
pub mod escape;
pub mod framing;
pub mod message;
#[cfg(test)]
mod proptests;
pub mod segment;

pub use datetime::{Precision, Timestamp, TimestampError};
pub use error::{ParseError, ParseErrorKind};
pub use escape::{escape, unescape};
pub use framing::{split_messages, CountMismatch, Messages, Trailer};
pub use message::{Component, Delimiters, Field, Message, Repetition, Segment, Subcomponent};

/// Parses one message; the same as [`Message::parse`].
pub fn parse(input: &[u8]) -> Result<Message<'_>, ParseError> {
    Message::parse(input)
}
