//! What `readmit parse` prints: one record per message found in an input, as a JSON line or an
//! aligned text block.
//!
//! The CLI and the corpus tests both go through [`records`], so the tests check exactly what
//! users see. A message that parses into an [`AdtEvent`] becomes a [`MessageRecord`]; one that
//! does not (HL7 syntax error, or not a usable ADT message) becomes an [`ErrorRecord`] naming
//! kind, segment, field and reason, never values.
//!
//! The records print PHI (identifiers, birth date, ZIP, visit numbers, diagnoses) by design: the
//! command shows users their own data on their own terminal. Nothing here logs.

use serde::Serialize;

use crate::adt::{AdtError, AdtEvent, CompactString, DateTimeValue, FieldValue};
use crate::hl7::{self, CountMismatch, Message, ParseError, Trailer};

/// One line of `readmit parse` output.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Record {
    /// A message that became an [`AdtEvent`].
    Message(Box<MessageRecord>),
    /// A message that could not be parsed or is not a usable ADT message.
    Error(ErrorRecord),
}

/// The fields of one ADT message, in a fixed key order. Every value is unescaped; `null` when
/// the field is empty, absent or an explicit HL7 null (`""`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    /// MSH-9.1.
    pub message_type: Option<String>,
    /// MSH-9.2, or EVN-1 when MSH-9.2 is empty.
    pub trigger_event: Option<String>,
    /// MSH-10.
    pub control_id: Option<String>,
    /// MSH-12.1.
    pub version: Option<String>,
    /// MSH-4.1.
    pub sending_facility: Option<String>,
    /// PID-3.1 of the first PID-3 repetition (no fallback to other repetitions).
    pub patient_id: Option<String>,
    /// PID-3.4 of that same repetition (HD namespace, else universal ID).
    pub assigning_authority: Option<String>,
    /// PID-8.1.
    pub sex: Option<String>,
    /// PID-7.1 as sent.
    pub birth_date: Option<String>,
    /// PID-10.1.
    pub race: Option<String>,
    /// PID-11.5 of the first address.
    pub zip: Option<String>,
    /// PV1-2.1.
    pub patient_class: Option<String>,
    /// PV1-4.1.
    pub admission_type: Option<String>,
    /// PV1-14.1.
    pub admit_source: Option<String>,
    /// PV1-36.1.
    pub discharge_disposition: Option<String>,
    /// PV1-19.1.
    pub visit_number: Option<String>,
    /// PV1-44.1 as sent.
    pub admit_datetime: Option<String>,
    /// PV1-45.1 as sent (last non-empty repetition).
    pub discharge_datetime: Option<String>,
    /// One entry per DG1, in order.
    pub diagnoses: Vec<DiagnosisRecord>,
    /// Where the message came from.
    pub extra: Extra,
}

/// One DG1 in a [`MessageRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosisRecord {
    /// DG1-3.1.
    pub code: Option<String>,
    /// DG1-3.3 (DG1-2 before v2.6 when DG1-3.3 is empty).
    pub system: Option<String>,
    /// DG1-6.1.
    #[serde(rename = "type")]
    pub diagnosis_type: Option<String>,
}

/// Keys beyond the fixed set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extra {
    /// The input file (`null` for standard input).
    pub file: Option<String>,
    /// 0-based index of the message within its input.
    pub index: usize,
}

/// A message that did not become an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// What went wrong.
    pub error: ErrorDetail,
    /// 0-based index of the message within its input.
    pub index: usize,
    /// The input file (`null` for standard input); without it, errors from several files
    /// could not be told apart.
    pub file: Option<String>,
}

/// Kind, position and reason of an [`ErrorRecord`]; never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    /// Stable snake_case kind (`missing_msh`, `bad_delimiters`, `not_adt`, …).
    pub kind: &'static str,
    /// Segment id, when known.
    pub segment: Option<String>,
    /// HL7 field number, when known.
    pub field: Option<usize>,
    /// Fixed explanation.
    pub reason: &'static str,
}

impl From<&ParseError> for ErrorDetail {
    fn from(e: &ParseError) -> Self {
        ErrorDetail {
            kind: e.kind.as_str(),
            segment: e.segment.clone(),
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<&AdtError> for ErrorDetail {
    fn from(e: &AdtError) -> Self {
        ErrorDetail {
            kind: e.kind(),
            segment: Some(e.segment().to_owned()),
            field: e.field(),
            reason: e.reason(),
        }
    }
}

/// Why one message of an input did not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// HL7 syntax.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Parsed, but not a usable ADT message.
    #[error(transparent)]
    Adt(#[from] AdtError),
}

impl MessageError {
    fn detail(&self) -> ErrorDetail {
        match self {
            MessageError::Parse(e) => e.into(),
            MessageError::Adt(e) => e.into(),
        }
    }
}

/// Parses one message (as yielded by [`hl7::split_messages`]) into an event.
pub fn parse_event(bytes: &[u8]) -> Result<AdtEvent, MessageError> {
    let message = Message::parse(bytes)?;
    Ok(AdtEvent::from_message(&message)?)
}

/// Every message of `input` (framing, batches and BOM handled by [`hl7::split_messages`]) as a
/// [`Record`], in order. `file` names the input in the records (`None` for stdin).
pub fn records<'a>(input: &'a [u8], file: Option<&'a str>) -> impl Iterator<Item = Record> + 'a {
    hl7::split_messages(input)
        .enumerate()
        .map(move |(index, bytes)| match parse_event(bytes) {
            Ok(event) => Record::Message(Box::new(MessageRecord::from_event(event, index, file))),
            Err(e) => Record::Error(ErrorRecord {
                error: e.detail(),
                index,
                file: file.map(str::to_owned),
            }),
        })
}

/// Batch/file trailer counts (BTS-1, FTS-1) in `input` that disagree with what it holds, as
/// one sentence each (no values from the messages). A mismatch is a warning: every message is
/// still reported by [`records`].
pub fn count_warnings(input: &[u8]) -> Vec<String> {
    hl7::split_messages(input)
        .count_mismatches()
        .iter()
        .map(|m: &CountMismatch| {
            let (segment, what) = match m.trailer {
                Trailer::Batch => ("BTS-1", "messages"),
                Trailer::File => ("FTS-1", "batches"),
            };
            format!(
                "{segment} declares {} {what}, the input holds {}",
                m.declared, m.actual
            )
        })
        .collect()
}

fn string(v: Option<CompactString>) -> Option<String> {
    v.map(CompactString::into_string)
}

fn field_value(v: FieldValue) -> Option<String> {
    string(v.into_value())
}

fn field_raw(v: FieldValue<DateTimeValue>) -> Option<String> {
    string(v.into_value().map(|d| d.raw))
}

impl MessageRecord {
    /// Builds the record of `event`, the `index`-th message of `file`.
    pub fn from_event(event: AdtEvent, index: usize, file: Option<&str>) -> Self {
        let AdtEvent {
            message_type,
            trigger_code,
            control_id,
            version,
            sending_facility,
            patient,
            visit,
            diagnoses,
            ..
        } = event;
        let patient = patient.unwrap_or_default();
        let visit = visit.unwrap_or_default();
        let first_id = patient.identifiers.into_iter().next().unwrap_or_default();
        MessageRecord {
            message_type: Some(message_type.into_string()),
            trigger_event: Some(trigger_code.into_string()),
            control_id: string(control_id),
            version: string(version),
            sending_facility: string(sending_facility),
            patient_id: string(first_id.id),
            assigning_authority: string(first_id.assigning_authority),
            sex: field_value(patient.sex),
            birth_date: field_raw(patient.birth_date),
            race: field_value(patient.race),
            zip: field_value(patient.zip),
            patient_class: field_value(visit.patient_class),
            admission_type: field_value(visit.admission_type),
            admit_source: field_value(visit.admit_source),
            discharge_disposition: field_value(visit.discharge_disposition),
            visit_number: field_value(visit.visit_number),
            admit_datetime: field_raw(visit.admit_datetime),
            discharge_datetime: field_raw(visit.discharge_datetime),
            diagnoses: diagnoses
                .into_iter()
                .map(|d| DiagnosisRecord {
                    code: string(d.code),
                    system: string(d.coding_system),
                    diagnosis_type: string(d.diagnosis_type),
                })
                .collect(),
            extra: Extra {
                file: file.map(str::to_owned),
                index,
            },
        }
    }
}

impl Record {
    /// `true` for an [`ErrorRecord`].
    pub fn is_error(&self) -> bool {
        matches!(self, Record::Error(_))
    }

    /// The record as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        // Serializing these plain structs (string keys, no maps, no floats) cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The record as an aligned `key: value` block (trailing newline included); `-` for null.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Record::Message(m) => {
                header(&mut out, "message", m.extra.index, m.extra.file.as_deref());
                let fields: [(&str, &Option<String>); 18] = [
                    ("message_type", &m.message_type),
                    ("trigger_event", &m.trigger_event),
                    ("control_id", &m.control_id),
                    ("version", &m.version),
                    ("sending_facility", &m.sending_facility),
                    ("patient_id", &m.patient_id),
                    ("assigning_authority", &m.assigning_authority),
                    ("sex", &m.sex),
                    ("birth_date", &m.birth_date),
                    ("race", &m.race),
                    ("zip", &m.zip),
                    ("patient_class", &m.patient_class),
                    ("admission_type", &m.admission_type),
                    ("admit_source", &m.admit_source),
                    ("discharge_disposition", &m.discharge_disposition),
                    ("visit_number", &m.visit_number),
                    ("admit_datetime", &m.admit_datetime),
                    ("discharge_datetime", &m.discharge_datetime),
                ];
                for (key, value) in fields {
                    line(&mut out, key, value.as_deref().unwrap_or("-"));
                }
                line(&mut out, "diagnoses", &m.diagnoses.len().to_string());
                for (i, d) in m.diagnoses.iter().enumerate() {
                    let value = format!(
                        "code={} system={} type={}",
                        d.code.as_deref().unwrap_or("-"),
                        d.system.as_deref().unwrap_or("-"),
                        d.diagnosis_type.as_deref().unwrap_or("-"),
                    );
                    line(&mut out, &format!("  [{}]", i + 1), &value);
                }
            }
            Record::Error(e) => {
                header(&mut out, "error in message", e.index, e.file.as_deref());
                line(&mut out, "kind", e.error.kind);
                line(
                    &mut out,
                    "segment",
                    e.error.segment.as_deref().unwrap_or("-"),
                );
                let field = e.error.field.map(|f| f.to_string());
                line(&mut out, "field", field.as_deref().unwrap_or("-"));
                line(&mut out, "reason", e.error.reason);
            }
        }
        out
    }
}

fn header(out: &mut String, what: &str, index: usize, file: Option<&str>) {
    out.push_str(&format!("{what} {index}"));
    if let Some(file) = file {
        out.push_str(&format!(" ({file})"));
    }
    out.push('\n');
}

/// Width of the key column: the longest key, `discharge_disposition:`, plus one space.
const KEY_WIDTH: usize = 23;

/// One `key: value` line. Control characters in the value (an escape such as `\X0A\`
/// decodes to a line break) are shown escaped, so a value can never start a line of its own
/// and pass for another field.
fn line(out: &mut String, key: &str, value: &str) {
    let mut shown = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    let value = shown;
    out.push_str(&format!("  {:<KEY_WIDTH$}{value}\n", format!("{key}:")));
}
