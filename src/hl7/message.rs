//! One HL7 v2 message: delimiters read from MSH-1/MSH-2, segment spans, segment lookup.
//!
//! [`Message::parse`] validates the structure (MSH first, usable delimiters, 3-character segment
//! ids) and stores only the byte span of each segment in one `Vec`; fields, repetitions,
//! components and subcomponents are split lazily when read (see [`Segment`]).

use std::fmt;

use super::error::{ParseError, ParseErrorKind};
pub use super::segment::{Component, Field, Repetition, Segment, Subcomponent};

/// UTF-8 byte order mark.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";
/// MLLP start-of-block byte.
pub(crate) const MLLP_START: u8 = 0x0B;
/// MLLP end-of-block byte.
pub(crate) const MLLP_END: u8 = 0x1C;

/// The delimiters of one message, from MSH-1 (field separator) and MSH-2 (encoding characters).
///
/// All delimiters are printable ASCII, not letters or digits, and pairwise distinct
/// ([`Message::parse`] rejects anything else), so splitting UTF-8 text on them is safe.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// Field separator (MSH-1), normally `|`.
    pub field: u8,
    /// Component separator (MSH-2 char 1), normally `^`.
    pub component: u8,
    /// Repetition separator (MSH-2 char 2), normally `~`; `None` when the sender declared none.
    pub repetition: Option<u8>,
    /// Escape character (MSH-2 char 3), normally `\`; `None` when the sender declared none.
    pub escape: Option<u8>,
    /// Subcomponent separator (MSH-2 char 4), normally `&`; `None` when the sender declared none.
    pub subcomponent: Option<u8>,
    /// Truncation character (MSH-2 char 5, v2.7+), normally `#`.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// The standard `|^~\&` set without a truncation character.
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: Some(b'~'),
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

impl fmt::Debug for Delimiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |b: Option<u8>| b.map(char::from);
        f.debug_struct("Delimiters")
            .field("field", &char::from(self.field))
            .field("component", &char::from(self.component))
            .field("repetition", &c(self.repetition))
            .field("escape", &c(self.escape))
            .field("subcomponent", &c(self.subcomponent))
            .field("truncation", &c(self.truncation))
            .finish()
    }
}

/// True for bytes HL7 allows as a delimiter: printable ASCII that is not a letter or digit.
fn is_delimiter_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

impl Delimiters {
    /// Reads the delimiters from the field separator (MSH-1) and the encoding characters (MSH-2).
    ///
    /// Accepted MSH-2 shapes:
    /// - 4 characters: component, repetition, escape, subcomponent (the standard);
    /// - 5 characters: the same plus the truncation character (v2.7+), except that when the 3rd
    ///   and 4th characters are equal (`^~\\&`, seen in LinuxForHealth samples) the escape
    ///   character was doubled by mistake: it is read as `^~\&` without truncation character;
    /// - 3 characters, only when each is one of the standard `^ ~ \ &`, all distinct, and `^` is
    ///   among them (ruby-hl7's `^\&`): each standard character takes its standard role and the
    ///   missing one is `None`.
    ///
    /// Anything shorter (e.g. `^~`), longer, repeated, or using letters, digits, spaces or
    /// control characters is an error; the returned text is the reason.
    pub fn from_encoding_chars(field: u8, enc: &[u8]) -> Result<Delimiters, &'static str> {
        if !is_delimiter_byte(field) {
            return Err("field separator is a letter, digit, space or control character");
        }
        let mut d = Delimiters {
            field,
            component: 0,
            repetition: None,
            escape: None,
            subcomponent: None,
            truncation: None,
        };
        match *enc {
            [] => return Err("encoding characters missing"),
            [_] | [_, _] => return Err("encoding characters incomplete"),
            [a, b, c] => {
                let standard = |x: u8| matches!(x, b'^' | b'~' | b'\\' | b'&');
                if !(standard(a) && standard(b) && standard(c) && enc.contains(&b'^')) {
                    return Err("encoding characters incomplete");
                }
                for x in [a, b, c] {
                    match x {
                        b'^' => d.component = x,
                        b'~' => d.repetition = Some(x),
                        b'\\' => d.escape = Some(x),
                        _ => d.subcomponent = Some(x),
                    }
                }
            }
            [a, b, c, e] => {
                d.component = a;
                d.repetition = Some(b);
                d.escape = Some(c);
                d.subcomponent = Some(e);
            }
            [a, b, c, c2, e] if c == c2 => {
                d.component = a;
                d.repetition = Some(b);
                d.escape = Some(c);
                d.subcomponent = Some(e);
            }
            [a, b, c, e, t] => {
                d.component = a;
                d.repetition = Some(b);
                d.escape = Some(c);
                d.subcomponent = Some(e);
                d.truncation = Some(t);
            }
            _ => return Err("encoding characters too long"),
        }
        let all = [
            Some(d.field),
            Some(d.component),
            d.repetition,
            d.escape,
            d.subcomponent,
            d.truncation,
        ];
        let present = all.iter().flatten();
        if present.clone().any(|&b| !is_delimiter_byte(b)) {
            return Err("encoding character is a letter, digit, space or control character");
        }
        for (i, x) in all.iter().enumerate() {
            if let Some(x) = x {
                if all.iter().skip(i + 1).any(|y| *y == Some(*x)) {
                    return Err("delimiters repeat a character");
                }
            }
        }
        Ok(d)
    }

    /// The encoding characters as they would be written in MSH-2 (4 or 5 characters when all
    /// are defined; undefined ones are left out).
    pub fn encoding_chars(&self) -> String {
        [
            Some(self.component),
            self.repetition,
            self.escape,
            self.subcomponent,
            self.truncation,
        ]
        .iter()
        .flatten()
        .map(|&b| char::from(b))
        .collect()
    }
}

/// Byte range of one segment inside the message input.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

/// A parsed HL7 v2 message borrowing its input.
///
/// Holds the delimiters and the span of each segment; everything else is read lazily.
/// `Debug` shows only segment ids and counts (messages are PHI).
#[derive(Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    delims: Delimiters,
    spans: Vec<Span>,
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.segments().map(|s| s.id()).collect();
        f.debug_struct("Message")
            .field("delimiters", &self.delims)
            .field("segments", &ids)
            .finish_non_exhaustive()
    }
}

/// Iterates the lines of `input` as `(start, end)` ranges without their terminator; CR, LF and
/// CRLF all end a line (CRLF yields an extra empty line, which callers skip as blank).
pub(crate) struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Lines { input, pos: 0 }
    }
}

impl Iterator for Lines<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        let rest = self.input.get(self.pos..)?;
        let start = self.pos;
        match memchr::memchr2(b'\r', b'\n', rest) {
            Some(k) => {
                self.pos = start + k + 1;
                Some((start, start + k))
            }
            None => {
                self.pos = self.input.len() + 1;
                Some((start, self.input.len()))
            }
        }
    }
}

/// Narrows a line to its segment text: drops leading blanks and control bytes (MLLP start/end
/// included) and trailing MLLP bytes. An empty result means a blank line.
#[inline]
pub(crate) fn trim_line(input: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end {
        match input.get(start) {
            Some(&b) if b <= b' ' => start += 1,
            _ => break,
        }
    }
    while end > start {
        match input.get(end - 1) {
            Some(&MLLP_START | &MLLP_END) => end -= 1,
            _ => break,
        }
    }
    (start, end)
}

/// Strips a leading UTF-8 BOM.
pub(crate) fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(BOM).unwrap_or(input)
}

/// The id of a segment line when it is a valid one: 3 ASCII letters or digits followed by
/// `sep` or the end of the line.
#[inline]
pub(crate) fn segment_id(line: &[u8], sep: u8) -> Option<&[u8]> {
    match line {
        [a, b, c, rest @ ..]
            if a.is_ascii_alphanumeric()
                && b.is_ascii_alphanumeric()
                && c.is_ascii_alphanumeric()
                && rest.first().is_none_or(|&x| x == sep) =>
        {
            line.get(..3)
        }
        _ => None,
    }
}

/// Segment ids that may be named in an error about a message that does not start with MSH:
/// common ADT/ACK segments and upper-case Z-segments.
fn is_known_id(id: &[u8]) -> bool {
    const KNOWN: &[&[u8; 3]] = &[
        b"EVN", b"PID", b"PD1", b"NK1", b"PV1", b"PV2", b"DG1", b"DRG", b"PR1", b"ROL", b"GT1",
        b"IN1", b"IN2", b"IN3", b"ACC", b"UB1", b"UB2", b"OBX", b"AL1", b"NTE", b"MRG", b"MSA",
        b"ERR", b"ARV", b"DB1", b"PDA", b"OBR", b"ORC", b"SFT", b"UAC",
    ];
    match id {
        [b'Z', a, b] => {
            (a.is_ascii_uppercase() || a.is_ascii_digit())
                && (b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        _ => KNOWN.iter().any(|k| k.as_slice() == id),
    }
}

/// True for the ids of batch/file envelope segments.
pub(crate) fn is_envelope_id(id: &[u8]) -> bool {
    [&b"FHS"[..], b"BHS", b"BTS", b"FTS"]
        .iter()
        .any(|e| id.eq_ignore_ascii_case(e))
}

fn id_str(id: &[u8]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

/// Reads the delimiters of an MSH line (which starts with `MSH`, any case).
fn msh_delimiters(line: &[u8]) -> Result<Delimiters, ParseError> {
    let err = |kind, field, reason| {
        Err(ParseError::new(kind, reason)
            .in_segment("MSH")
            .at_position(1)
            .at_field(field))
    };
    let Some(&field_sep) = line.get(3) else {
        return err(
            ParseErrorKind::TruncatedMsh,
            1,
            "segment ends before the field separator",
        );
    };
    if !is_delimiter_byte(field_sep) {
        return err(
            ParseErrorKind::BadDelimiters,
            1,
            "field separator is a letter, digit, space or control character",
        );
    }
    let rest = line.get(4..).unwrap_or_default();
    let (enc, terminated) = match memchr::memchr(field_sep, rest) {
        Some(k) => (rest.get(..k).unwrap_or_default(), true),
        None => (rest, false),
    };
    if !terminated && enc.len() < 4 {
        return err(
            ParseErrorKind::TruncatedMsh,
            2,
            "segment ends inside the encoding characters",
        );
    }
    Delimiters::from_encoding_chars(field_sep, enc)
        .or_else(|reason| err(ParseErrorKind::BadDelimiters, 2, reason))
}

impl<'a> Message<'a> {
    /// Parses one message.
    ///
    /// Tolerates a UTF-8 BOM, MLLP framing bytes, leading/trailing blank or whitespace-only
    /// lines, CR, LF and CRLF terminators in any mixture, and a missing final terminator.
    /// Segment ids may be lower case. Fails with a typed [`ParseError`] when the input is empty,
    /// does not start with MSH, has unusable delimiters, a truncated MSH, a segment id that is
    /// not 3 letters/digits followed by the field separator, a second MSH or an envelope
    /// segment (FHS/BHS/BTS/FTS: split such input with [`super::split_messages`] first).
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let input = strip_bom(input);
        if u32::try_from(input.len()).is_err() {
            return Err(ParseError::new(
                ParseErrorKind::TooLarge,
                "message larger than 4 GiB",
            ));
        }
        let mut lines = Lines::new(input).filter_map(|(s, e)| {
            let (s, e) = trim_line(input, s, e);
            (s < e).then_some((s, e))
        });
        let Some((first_start, first_end)) = lines.next() else {
            return Err(ParseError::new(
                ParseErrorKind::Empty,
                "input holds no segment",
            ));
        };
        let first = input.get(first_start..first_end).unwrap_or_default();
        let is_msh = first
            .get(..3)
            .is_some_and(|id| id.eq_ignore_ascii_case(b"MSH"));
        if !is_msh {
            let mut e = match first.get(..3) {
                Some(id) if is_envelope_id(id) => ParseError::new(
                    ParseErrorKind::BatchEnvelope,
                    "batch envelope segment: split the input into messages first",
                )
                .in_segment(&id_str(id)),
                _ => ParseError::new(
                    ParseErrorKind::MissingMsh,
                    "message does not start with an MSH segment",
                ),
            };
            if e.kind == ParseErrorKind::MissingMsh {
                // Name the first segment only when it is a well-known id: the first bytes of
                // arbitrary input may be content (PHI).
                if let Some(id) = first.get(..3).filter(|id| is_known_id(id)) {
                    if first.get(3).is_none_or(|&b| is_delimiter_byte(b)) {
                        e = e.in_segment(&id_str(id));
                    }
                }
            }
            return Err(e.at_position(1));
        }
        let delims = msh_delimiters(first)?;
        let mut spans = Vec::with_capacity(16);
        spans.push(span(first_start, first_end));
        for (position, (s, e)) in (2..).zip(lines) {
            let line = input.get(s..e).unwrap_or_default();
            let Some(id) = segment_id(line, delims.field) else {
                return Err(ParseError::new(
                    ParseErrorKind::BadSegmentId,
                    "segment id is not 3 letters or digits followed by the field separator",
                )
                .at_position(position));
            };
            if id.eq_ignore_ascii_case(b"MSH") {
                return Err(ParseError::new(
                    ParseErrorKind::MultipleMessages,
                    "second MSH segment: split the input into messages first",
                )
                .in_segment("MSH")
                .at_position(position));
            }
            if is_envelope_id(id) {
                return Err(ParseError::new(
                    ParseErrorKind::BatchEnvelope,
                    "batch envelope segment: split the input into messages first",
                )
                .in_segment(&id_str(id))
                .at_position(position));
            }
            spans.push(span(s, e));
        }
        Ok(Message {
            input,
            delims,
            spans,
        })
    }

    /// The delimiters declared in MSH-1/MSH-2.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delims
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.spans.len()
    }

    /// All segments in order (the first is MSH).
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + '_ {
        let input = self.input;
        let delims = self.delims;
        self.spans
            .iter()
            .map(move |sp| Segment::new(slice(input, *sp), delims))
    }

    /// The `i`-th segment (0-based; 0 is MSH).
    pub fn segment_at(&self, i: usize) -> Option<Segment<'a>> {
        self.spans
            .get(i)
            .map(|sp| Segment::new(slice(self.input, *sp), self.delims))
    }

    /// The first segment with this id (ASCII case-insensitive), e.g. `segment("PV1")`.
    pub fn segment(&self, id: &str) -> Option<Segment<'a>> {
        self.segments_named(id).next()
    }

    /// Every segment with this id (ASCII case-insensitive), in order, e.g. all `DG1`.
    pub fn segments_named<'s>(&'s self, id: &'s str) -> impl Iterator<Item = Segment<'a>> + 's {
        let want = id.as_bytes();
        self.segments().filter(move |s| {
            s.raw()
                .get(..3)
                .is_some_and(|sid| want.len() == 3 && sid.eq_ignore_ascii_case(want))
        })
    }

    /// The message bytes (BOM and leading framing removed).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.input
    }
}

fn span(start: usize, end: usize) -> Span {
    // Message::parse rejects inputs longer than u32::MAX, so these never saturate.
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

#[inline]
fn slice(input: &[u8], sp: Span) -> &[u8] {
    input
        .get(sp.start as usize..sp.end as usize)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A03: &[u8] = b"MSH|^~\\&|APP|FAC|RCV|RFAC|20260115143000||ADT^A03^ADT_A03|CTRL42|P|2.5\r\
EVN|A03|20260115143000\r\
PID|1||12345^^^HOSP^MR~999^^^SSA^SS||Doe^John||19800101|M\r\
PV1|1|I|WARD^101^A^HOSP||||||||||||||||V123|||||||||||||||||01||||||||20260110080000|20260115143000\r\
DG1|1||I10.9^Hypertension^I10||20260110|F\r\
DG1|2||E11.9^Diabetes^I10||20260110|F\r";

    fn parse(s: &[u8]) -> Message<'_> {
        Message::parse(s).unwrap()
    }

    fn err(s: &[u8]) -> ParseError {
        Message::parse(s).unwrap_err()
    }

    #[test]
    fn parses_segments_and_fields() {
        let m = parse(A03);
        assert_eq!(m.segment_count(), 6);
        let ids: Vec<_> = m.segments().map(|s| s.id()).collect();
        assert_eq!(ids, ["MSH", "EVN", "PID", "PV1", "DG1", "DG1"]);
        let msh = m.segment("MSH").unwrap();
        assert_eq!(msh.field(1).raw(), b"|");
        assert_eq!(msh.field(2).raw(), b"^~\\&");
        assert_eq!(msh.field(2).value().as_deref(), Some("^~\\&"));
        assert_eq!(msh.field(9).raw(), b"ADT^A03^ADT_A03");
        assert_eq!(msh.value(9, 2).as_deref(), Some("A03"));
        assert_eq!(msh.value(10, 1).as_deref(), Some("CTRL42"));
        assert_eq!(msh.field_count(), 12);
        let pv1 = m.segment("pv1").unwrap();
        assert_eq!(pv1.value(2, 1).as_deref(), Some("I"));
        assert_eq!(pv1.value(3, 4).as_deref(), Some("HOSP"));
        assert_eq!(pv1.value(19, 1).as_deref(), Some("V123"));
        assert_eq!(pv1.value(36, 1).as_deref(), Some("01"));
        assert_eq!(pv1.value(44, 1).as_deref(), Some("20260110080000"));
        assert_eq!(pv1.value(45, 1).as_deref(), Some("20260115143000"));
        assert!(pv1.field(46).is_empty());
        assert!(pv1.field(0).is_empty());
        assert_eq!(pv1.field_count(), 45);
        assert_eq!(m.segments_named("DG1").count(), 2);
        assert_eq!(
            m.segments_named("dg1")
                .map(|s| s.value(3, 1).unwrap().into_owned())
                .collect::<Vec<_>>(),
            ["I10.9", "E11.9"]
        );
        assert!(m.segment("PV2").is_none());
        assert!(m.segment("PV").is_none());
    }

    #[test]
    fn repetitions_components_subcomponents() {
        let m = parse(b"MSH|^~\\&|A\rPID|1||a1^b1~a2^b2^c2&d2||\"\"|x\\T\\y");
        let pid = m.segment("PID").unwrap();
        let f3 = pid.field(3);
        assert_eq!(f3.repetition_count(), 2);
        assert_eq!(f3.repetitions().count(), 2);
        assert_eq!(f3.repetition(1).component(3).raw(), b"c2&d2");
        assert_eq!(
            f3.repetition(1)
                .component(3)
                .subcomponent(2)
                .value()
                .as_deref(),
            Some("d2")
        );
        assert!(f3.repetition(2).is_empty());
        assert_eq!(f3.component(2).value().as_deref(), Some("b1"));
        assert_eq!(f3.components().count(), 2);
        assert!(f3.component(0).is_empty());
        let null = pid.field(5);
        assert!(null.is_null());
        assert!(!null.is_empty());
        assert_eq!(null.value(), None);
        assert!(pid.field(4).is_empty());
        assert!(!pid.field(4).is_null());
        assert_eq!(pid.field(6).value().as_deref(), Some("x&y"));
    }

    #[test]
    fn terminators_bom_mllp_blank_lines() {
        let variants: [&[u8]; 6] = [
            b"MSH|^~\\&|A\rPID|1\rPV1|1|I",
            b"MSH|^~\\&|A\nPID|1\nPV1|1|I\n",
            b"MSH|^~\\&|A\r\nPID|1\r\nPV1|1|I\r\n",
            b"MSH|^~\\&|A\r\n\nPID|1\n\rPV1|1|I",
            b"\xEF\xBB\xBF\r\n  \r\nMSH|^~\\&|A\rPID|1\r \t \rPV1|1|I\r\n\r\n",
            b"\x0bMSH|^~\\&|A\rPID|1\rPV1|1|I\r\x1c\r",
        ];
        for v in variants {
            let m = parse(v);
            assert_eq!(m.segment_count(), 3, "{:?}", String::from_utf8_lossy(v));
            assert_eq!(m.segment("PV1").unwrap().value(2, 1).as_deref(), Some("I"));
        }
    }

    #[test]
    fn custom_delimiters() {
        // rethinkhealth edge-custom-delimiters shape: # ! @ % *
        let m = parse(b"MSH#!@%*#APP#FAC\rPID#1##a!b@c!d*e##x%F%y");
        let d = m.delimiters();
        assert_eq!(
            (d.field, d.component, d.repetition, d.escape, d.subcomponent),
            (b'#', b'!', Some(b'@'), Some(b'%'), Some(b'*'))
        );
        let pid = m.segment("PID").unwrap();
        assert_eq!(
            pid.field(3)
                .repetition(1)
                .component(2)
                .subcomponent(2)
                .raw(),
            b"e"
        );
        assert_eq!(pid.field(5).value().as_deref(), Some("x#y"));
        // cosyte custom-msh-delimiters: @ ~ & # \ and a backtick subcomponent separator.
        let m = parse(b"MSH@~&#\\@APP\rPID@1@@a~b\\c");
        assert_eq!(
            m.segment("PID")
                .unwrap()
                .field(3)
                .component(2)
                .subcomponent(2)
                .raw(),
            b"c"
        );
        let m = parse(b"MSH|^~\\`|APP\rPID|1||a^b`c");
        assert_eq!(m.delimiters().subcomponent, Some(b'`'));
        assert_eq!(
            m.segment("PID")
                .unwrap()
                .field(3)
                .component(2)
                .subcomponent(2)
                .raw(),
            b"c"
        );
    }

    #[test]
    fn quirky_encoding_characters() {
        // ruby-hl7: no repetition character.
        let m = parse(b"MSH|^\\&|DPS\rPID|1||a~b^c");
        let d = *m.delimiters();
        assert_eq!(d.component, b'^');
        assert_eq!(d.repetition, None);
        assert_eq!(d.escape, Some(b'\\'));
        assert_eq!(d.subcomponent, Some(b'&'));
        let f = m.segment("PID").unwrap().field(3);
        assert_eq!(f.repetition_count(), 1);
        assert_eq!(f.component(1).raw(), b"a~b");
        assert_eq!(
            m.segment("MSH").unwrap().value(3, 1).as_deref(),
            Some("DPS")
        );
        // LinuxForHealth: doubled escape character.
        let m = parse(b"MSH|^~\\\\&|SE050|050\rPID|1");
        assert_eq!(*m.delimiters(), Delimiters::default());
        let msh = m.segment("MSH").unwrap();
        assert_eq!(msh.field(2).raw(), b"^~\\\\&");
        assert_eq!(msh.value(3, 1).as_deref(), Some("SE050"));
        // v2.7 truncation character.
        let m = parse(b"MSH|^~\\&#|A\rPID|1");
        assert_eq!(m.delimiters().truncation, Some(b'#'));
        assert_eq!(m.delimiters().encoding_chars(), "^~\\&#");
    }

    #[test]
    fn malformed_encoding_characters() {
        let e = err(b"MSH|^~|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20260419100000||ADT^A01|M|P|2.5");
        assert_eq!(e.kind, ParseErrorKind::BadDelimiters);
        assert_eq!(e.field, Some(2));
        assert_eq!(
            e.to_string(),
            "segment #1 MSH field 2: encoding characters incomplete"
        );
        let e = err(b"MSH|^~");
        assert_eq!(e.kind, ParseErrorKind::TruncatedMsh);
        assert_eq!(e.field, Some(2));
        assert_eq!(err(b"MSH|^~\\").kind, ParseErrorKind::TruncatedMsh);
        assert_eq!(err(b"MSH").kind, ParseErrorKind::TruncatedMsh);
        assert_eq!(err(b"MSH||A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^~\\&&|A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^~\\^|A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^~\\&#!|A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSHA^~\\&A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^~ &|A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^a\\&|A").kind, ParseErrorKind::BadDelimiters);
        // 3 characters must be standard ones in standard roles, with a component separator.
        assert_eq!(err(b"MSH|~\\&|A").kind, ParseErrorKind::BadDelimiters);
        assert_eq!(err(b"MSH|^!&|A").kind, ParseErrorKind::BadDelimiters);
        // A complete MSH-2 at the end of the segment is fine.
        assert_eq!(parse(b"MSH|^~\\&").segment_count(), 1);
    }

    #[test]
    fn structural_errors() {
        assert_eq!(err(b"").kind, ParseErrorKind::Empty);
        assert_eq!(
            err(b"\xEF\xBB\xBF \r\n\x0b\x1c\r").kind,
            ParseErrorKind::Empty
        );
        let e = err(b"EVN|A01|20260419100000\rPID|1");
        assert_eq!(e.kind, ParseErrorKind::MissingMsh);
        assert_eq!(e.segment.as_deref(), Some("EVN"));
        let e = err(b"garbage that is not hl7");
        assert_eq!(e.kind, ParseErrorKind::MissingMsh);
        assert_eq!(e.segment, None);
        // Content that happens to look like an id is not named.
        assert_eq!(err(b"DOE^JOHN").segment, None);
        assert_eq!(err(b"ZPD|1").segment.as_deref(), Some("ZPD"));
        let e = err(b"MSH|^~\\&|A\rPIDX|1||12345\rPV|1|I");
        assert_eq!(e.kind, ParseErrorKind::BadSegmentId);
        assert_eq!(e.position, Some(2));
        assert_eq!(e.segment, None);
        assert!(!e.to_string().contains("PIDX"));
        assert_eq!(err(b"MSH|^~\\&|A\rPV|1|I").position, Some(2));
        assert_eq!(
            err(b"MSH|^~\\&|A\rP\xC3\xA9|1").kind,
            ParseErrorKind::BadSegmentId
        );
        let e = err(b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B");
        assert_eq!(e.kind, ParseErrorKind::MultipleMessages);
        assert_eq!(e.position, Some(3));
        assert_eq!(
            err(b"BHS|^~\\&|A\rMSH|^~\\&|B").kind,
            ParseErrorKind::BatchEnvelope
        );
        assert_eq!(
            err(b"MSH|^~\\&|A\rBTS|1").kind,
            ParseErrorKind::BatchEnvelope
        );
    }

    #[test]
    fn lower_case_ids_and_segment_without_fields() {
        let m = parse(b"msh|^~\\&|A\rpid|1||X\rZZZ\r");
        assert_eq!(m.segment("PID").unwrap().id(), "pid");
        assert_eq!(m.segment("PID").unwrap().value(3, 1).as_deref(), Some("X"));
        assert_eq!(m.segment("msh").unwrap().value(3, 1).as_deref(), Some("A"));
        assert_eq!(m.segment("ZZZ").unwrap().field_count(), 0);
    }

    #[test]
    fn debug_is_redacted() {
        let m = parse(A03);
        let s = format!(
            "{m:?} {:?} {:?}",
            m.segment("PID").unwrap(),
            m.segment("PID").unwrap().field(5)
        );
        assert!(!s.contains("Doe"), "{s}");
        assert!(s.contains("PID"));
    }

    #[test]
    fn latin1_value() {
        let m = parse(b"MSH|^~\\&|A\rPID|1||M\xfcller");
        assert_eq!(
            m.segment("PID").unwrap().value(3, 1).as_deref(),
            Some("Müller")
        );
    }
}
