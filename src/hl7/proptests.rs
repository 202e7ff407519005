//! Property tests of the parser: arbitrary bytes never panic, a message rendered from random
//! values (escaped) parses back to the same values, escaping round-trips.

use proptest::prelude::*;

use super::{escape, split_messages, unescape, Delimiters, Message, Timestamp};

/// Printable ASCII that is not a letter or digit: what HL7 allows as a delimiter.
const DELIMITER_CHARS: &[u8] = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn delimiters() -> impl Strategy<Value = Delimiters> {
    (Just(DELIMITER_CHARS.to_vec()).prop_shuffle(), any::<bool>()).prop_map(|(c, trunc)| {
        Delimiters {
            field: c[0],
            component: c[1],
            repetition: Some(c[2]),
            escape: Some(c[3]),
            subcomponent: Some(c[4]),
            truncation: trunc.then_some(c[5]),
        }
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
        "[A-Za-z0-9 ^~&|\\\\#]{0,10}",
    ]
    // `""` is the HL7 explicit null, not a value.
    .prop_filter("explicit null", |s| s != "\"\"")
}

/// field → repetitions → components → subcomponents
type FieldData = Vec<Vec<Vec<String>>>;

fn field() -> impl Strategy<Value = FieldData> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec(value(), 1..3), 1..4),
        1..3,
    )
}

fn segment_id() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9]{2}".prop_filter("reserved id", |id| {
        !matches!(id.as_str(), "MSH" | "FHS" | "BHS" | "BTS" | "FTS")
    })
}

#[derive(Debug, Clone)]
struct MessageData {
    delims: Delimiters,
    msh_fields: Vec<FieldData>,
    segments: Vec<(String, Vec<FieldData>)>,
    terminator: &'static str,
}

fn message() -> impl Strategy<Value = MessageData> {
    (
        delimiters(),
        prop::collection::vec(field(), 0..4),
        prop::collection::vec((segment_id(), prop::collection::vec(field(), 0..5)), 0..5),
        prop::sample::select(vec!["\r", "\n", "\r\n"]),
    )
        .prop_map(|(delims, msh_fields, segments, terminator)| MessageData {
            delims,
            msh_fields,
            segments,
            terminator,
        })
}

fn render_field(f: &FieldData, d: &Delimiters) -> String {
    let ch = |b: Option<u8>| char::from(b.unwrap_or(b'?')).to_string();
    f.iter()
        .map(|rep| {
            rep.iter()
                .map(|comp| {
                    comp.iter()
                        .map(|sub| escape(sub, d).into_owned())
                        .collect::<Vec<_>>()
                        .join(&ch(d.subcomponent))
                })
                .collect::<Vec<_>>()
                .join(&ch(Some(d.component)))
        })
        .collect::<Vec<_>>()
        .join(&ch(d.repetition))
}

fn render(m: &MessageData) -> String {
    let d = &m.delims;
    let f = char::from(d.field).to_string();
    let mut out = format!("MSH{f}{}", d.encoding_chars());
    for field in &m.msh_fields {
        out.push_str(&f);
        out.push_str(&render_field(field, d));
    }
    for (id, fields) in &m.segments {
        out.push_str(m.terminator);
        out.push_str(id);
        for field in fields {
            out.push_str(&f);
            out.push_str(&render_field(field, d));
        }
    }
    out
}

/// Checks that `seg` fields starting at HL7 number `first` hold `fields`.
fn check_fields(
    seg: &super::Segment<'_>,
    first: usize,
    fields: &[FieldData],
) -> Result<(), TestCaseError> {
    for (i, field) in fields.iter().enumerate() {
        let got = seg.field(first + i);
        prop_assert_eq!(got.repetition_count(), field.len());
        for (r, rep) in field.iter().enumerate() {
            for (c, comp) in rep.iter().enumerate() {
                for (s, sub) in comp.iter().enumerate() {
                    let v = got
                        .repetition(r)
                        .component(c + 1)
                        .subcomponent(s + 1)
                        .value();
                    prop_assert_eq!(v.as_deref().unwrap_or(""), sub.as_str());
                }
                prop_assert!(got
                    .repetition(r)
                    .component(c + 1)
                    .subcomponent(comp.len() + 1)
                    .is_empty());
            }
            prop_assert!(got.repetition(r).component(rep.len() + 1).is_empty());
        }
    }
    prop_assert!(seg.field(first + fields.len()).is_empty());
    Ok(())
}

/// Reads everything; returns the number of non-empty values (so the work is not optimised out).
fn touch(input: &[u8]) -> usize {
    let mut n = 0;
    for item in split_messages(input) {
        let Ok(msg) = Message::parse(item) else {
            continue;
        };
        for seg in msg.segments() {
            for field in seg.fields() {
                n += field.value().map_or(0, |v| v.len());
                for rep in field.repetitions() {
                    for comp in rep.components() {
                        for sub in comp.subcomponents() {
                            if let Some(v) = sub.value() {
                                n += v.len();
                                n += usize::from(Timestamp::parse(&v).is_ok());
                            }
                        }
                    }
                }
            }
        }
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        touch(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_msh_never_panic(
        head in prop::sample::select(vec![&b"MSH|^~\\&|"[..], b"MSH|^~\\&#|", b"MSH|^\\&|", b"\x0bMSH|^~\\\\&|", b"FHS|^~\\&|\rBHS|^~\\&\rMSH|^~\\&|"]),
        tail in prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(b"|^~\\&\r\nMSHPIDBTS0123XE.".to_vec())],
            0..400,
        ),
    ) {
        let mut input = head.to_vec();
        input.extend_from_slice(&tail);
        touch(&input);
    }

    #[test]
    fn arbitrary_strings_as_timestamps_never_panic(s in "\\PC{0,30}", t in "[0-9+\\-.:/TZ ]{0,24}") {
        let _ = Timestamp::parse(&s);
        let _ = Timestamp::parse(&t);
    }

    #[test]
    fn rendered_message_parses_back(m in message()) {
        let text = render(&m);
        let msg = Message::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(*msg.delimiters(), m.delims);
        prop_assert_eq!(msg.segment_count(), 1 + m.segments.len());
        let msh = msg.segment("MSH").unwrap();
        prop_assert_eq!(msh.field(1).raw(), &[m.delims.field][..]);
        prop_assert_eq!(msh.field(2).value().unwrap(), m.delims.encoding_chars());
        check_fields(&msh, 3, &m.msh_fields)?;
        for (seg, (id, fields)) in msg.segments().skip(1).zip(&m.segments) {
            prop_assert_eq!(seg.id(), id.as_str());
            prop_assert_eq!(seg.field_count(), fields.len());
            check_fields(&seg, 1, fields)?;
        }
    }

    #[test]
    fn concatenated_messages_split_back(ms in prop::collection::vec(message(), 1..4), mllp in any::<bool>()) {
        let mut input = Vec::new();
        for m in &ms {
            if mllp {
                input.push(0x0B);
            }
            input.extend_from_slice(render(m).as_bytes());
            input.extend_from_slice(if mllp { b"\x1c\r" } else { b"\r\n" });
        }
        let items: Vec<&[u8]> = split_messages(&input).collect();
        prop_assert_eq!(items.len(), ms.len());
        for (item, m) in items.iter().zip(&ms) {
            let msg = Message::parse(item).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(msg.segment_count(), 1 + m.segments.len());
        }
    }

    #[test]
    fn escape_round_trips(s in any::<String>(), d in delimiters()) {
        let escaped = escape(&s, &d);
        for b in [d.field, d.component, b'\r', b'\n'] {
            prop_assert!(!escaped.as_bytes().contains(&b));
        }
        prop_assert_eq!(unescape(escaped.as_bytes(), &d), s.as_str());
    }

    #[test]
    fn unescape_without_escape_char_borrows(s in "[^\\\\]{0,40}") {
        let d = Delimiters::default();
        prop_assert!(matches!(unescape(s.as_bytes(), &d), std::borrow::Cow::Borrowed(_)));
    }
}
