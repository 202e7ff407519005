//! Single-pass field access for [`AdtEvent::from_message`](super::AdtEvent::from_message).
//!
//! `hl7::Segment::field(n)` rescans the segment from its start on every call, which made PV1
//! (fields up to 45) and PID the most expensive part of building an event. [`Fields`] splits a
//! segment once; the helpers below then split repetitions, components and subcomponents of the
//! raw field bytes and unescape with [`hl7::unescape`], with the same rules as the `hl7`
//! accessors (1-based components, `""` is the explicit null, undeclared separators do not split).

use std::borrow::Cow;

use compact_str::CompactString;

use crate::hl7::{self, Delimiters, Segment};

/// The highest field number the event reads (PV1-45).
pub(super) const MAX_FIELD: usize = 45;

/// The HL7 explicit null.
const NULL: &[u8] = b"\"\"";

/// The raw fields of one segment, split once, numbered as in HL7.
pub(super) struct Fields<'a> {
    raw: &'a [u8],
    /// `starts[k]`: index of the first byte of part `k` of the segment split on the field
    /// separator (part 0 is the id); [`ABSENT`] when the segment has fewer parts. Only parts up
    /// to `MAX_FIELD + 1` are located.
    starts: [u32; MAX_FIELD + 2],
    /// MSH/FHS/BHS: field `n` is part `n - 1` (MSH-1 is the separator itself).
    header: bool,
    /// The message delimiters.
    pub(super) d: Delimiters,
}

/// Marks a part the segment does not have.
const ABSENT: u32 = u32::MAX;

/// Per-byte masks for the word-at-a-time separator search.
const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Bit 7 of each byte of the result is set where the byte of `word` equals the byte repeated
/// in `pattern` (exact: no false positives).
#[inline]
fn matches(word: u64, pattern: u64) -> u64 {
    let t = word ^ pattern;
    !(((t & LO7).wrapping_add(LO7)) | t | LO7)
}

impl<'a> Fields<'a> {
    /// Splits `seg`. For MSH (and FHS/BHS), where MSH-1 is the separator itself, pass
    /// `header = true`.
    pub(super) fn of(seg: &Segment<'a>, header: bool) -> Self {
        let d = *seg.delimiters();
        let raw = seg.raw();
        let mut starts = [ABSENT; MAX_FIELD + 2];
        starts[0] = 0;
        let mut found = 0;
        // Eight bytes at a time: segments run to hundreds of bytes and separators are dense,
        // so neither a byte loop nor a `memchr` call per separator is cheap.
        let pattern = u64::from_le_bytes([d.field; 8]);
        let mut record = |pos: usize| -> bool {
            found += 1;
            match (starts.get_mut(found), u32::try_from(pos + 1)) {
                (Some(slot), Ok(p)) => {
                    *slot = p;
                    true
                }
                _ => false,
            }
        };
        let chunks = raw.chunks_exact(8);
        let tail = chunks.remainder();
        let mut base = 0;
        'scan: {
            for chunk in chunks {
                let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
                let mut hits = matches(word, pattern);
                while hits != 0 {
                    if !record(base + (hits.trailing_zeros() / 8) as usize) {
                        break 'scan;
                    }
                    hits &= hits - 1;
                }
                base += 8;
            }
            for (i, &b) in tail.iter().enumerate() {
                if b == d.field && !record(base + i) {
                    break 'scan;
                }
            }
        }
        Fields {
            raw,
            starts,
            header,
            d,
        }
    }

    /// Raw field `n` (empty when absent, beyond [`MAX_FIELD`], or MSH-1).
    #[inline]
    pub(super) fn get(&self, n: usize) -> &'a [u8] {
        let part = match (self.header, n) {
            (_, 0) => 0,
            (true, 1) => return &[],
            (true, n) => n - 1,
            (false, n) => n,
        };
        let Some(&start) = self.starts.get(part) else {
            return &[];
        };
        if start == ABSENT {
            return &[];
        }
        let end = match self.starts.get(part + 1) {
            Some(&next) if next != ABSENT => next as usize - 1,
            _ => {
                // Part `part + 1` is absent or was not located: this part runs to the next
                // separator or the end.
                let rest = self.raw.get(start as usize..).unwrap_or_default();
                let len = rest
                    .iter()
                    .position(|&b| b == self.d.field)
                    .unwrap_or(rest.len());
                start as usize + len
            }
        };
        self.raw.get(start as usize..end).unwrap_or_default()
    }
}

/// The `idx`-th (0-based) part of `raw` split on `sep`; the whole of `raw` for part 0 when
/// `sep` is undeclared; empty when absent.
#[inline]
fn part(raw: &[u8], sep: Option<u8>, idx: usize) -> &[u8] {
    match sep {
        Some(sep) => raw.split(|&b| b == sep).nth(idx).unwrap_or_default(),
        None if idx == 0 => raw,
        None => &[],
    }
}

/// The repetitions of a raw field (at least one, possibly empty).
#[inline]
pub(super) fn repetitions<'a>(raw: &'a [u8], d: &Delimiters) -> impl Iterator<Item = &'a [u8]> {
    let sep = d.repetition;
    raw.split(move |&b| Some(b) == sep)
}

/// Component `n` (1-based) of the first repetition of a raw field, in one pass.
#[inline]
pub(super) fn component<'a>(field: &'a [u8], d: &Delimiters, n: usize) -> &'a [u8] {
    if n == 0 {
        return &[];
    }
    let rep = d.repetition;
    let mut comp = 1;
    let mut start = 0;
    for (i, &b) in field.iter().enumerate() {
        if b == d.component {
            if comp == n {
                return field.get(start..i).unwrap_or_default();
            }
            comp += 1;
            start = i + 1;
        } else if Some(b) == rep {
            return if comp == n {
                field.get(start..i).unwrap_or_default()
            } else {
                &[]
            };
        }
    }
    if comp == n {
        field.get(start..).unwrap_or_default()
    } else {
        &[]
    }
}

/// Component `n` (1-based) of one raw repetition.
#[inline]
pub(super) fn rep_component<'a>(rep: &'a [u8], d: &Delimiters, n: usize) -> &'a [u8] {
    match n {
        0 => &[],
        _ => part(rep, Some(d.component), n - 1),
    }
}

/// Subcomponent `n` (1-based) of a raw component.
#[inline]
pub(super) fn subcomponent<'a>(comp: &'a [u8], d: &Delimiters, n: usize) -> &'a [u8] {
    match n {
        0 => &[],
        _ => part(comp, d.subcomponent, n - 1),
    }
}

/// True for the explicit null `""`.
#[inline]
pub(super) fn is_null(raw: &[u8]) -> bool {
    raw == NULL
}

/// The unescaped text of a raw value, trimmed of spaces and tabs; `None` when empty, blank or
/// `""`.
#[inline]
pub(super) fn text(raw: &[u8], d: &Delimiters) -> Option<CompactString> {
    let raw = trim_bytes(raw);
    if raw.is_empty() || raw == NULL {
        return None;
    }
    // Most values are plain ASCII without escape sequences: skip the general decoder.
    let esc = d.escape;
    if raw.iter().all(|&b| b.is_ascii() && Some(b) != esc) {
        if let Ok(s) = std::str::from_utf8(raw) {
            return Some(CompactString::new(s));
        }
    }
    let value: Cow<'_, str> = hl7::unescape(raw, d);
    // Escapes can decode to blanks at the edges (`\.sp\`, `\.br\`).
    let t = value.trim_matches(|c| c == ' ' || c == '\t');
    if t.is_empty() {
        None
    } else {
        Some(CompactString::new(t))
    }
}

/// Value of subcomponent 1 of a raw component: the value of a primitive component, the
/// namespace of an HD, the code of a CWE.
#[inline]
pub(super) fn comp_text(comp: &[u8], d: &Delimiters) -> Option<CompactString> {
    text(subcomponent(comp, d, 1), d)
}

#[inline]
fn trim_bytes(mut raw: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = raw {
        raw = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = raw {
        raw = rest;
    }
    raw
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hl7::Message;

    /// The split helpers agree with the `hl7` accessors on every field/component/subcomponent.
    fn check_against_hl7(text: &str) {
        let msg = Message::parse(text.as_bytes()).expect("parses");
        for seg in msg.segments() {
            let header = seg.id().eq_ignore_ascii_case("MSH");
            let f = Fields::of(&seg, header);
            let first = if header { 3 } else { 1 };
            for n in first..=MAX_FIELD {
                let want = seg.field(n);
                let got = f.get(n);
                assert_eq!(got, want.raw(), "field {n} of {text:?}");
                assert_eq!(is_null(got), want.is_null());
                for c in 1..=4 {
                    let wc = want.component(c);
                    let gc = component(got, &f.d, c);
                    assert_eq!(gc, wc.raw(), "{n}.{c} of {text:?}");
                    for s in 1..=3 {
                        assert_eq!(subcomponent(gc, &f.d, s), wc.subcomponent(s).raw());
                    }
                    let want_text = wc
                        .subcomponent(1)
                        .value()
                        .map(|v| CompactString::new(v.trim_matches([' ', '\t'])))
                        // Padding around `""` still makes an explicit null here.
                        .filter(|v| !v.is_empty() && v != "\"\"");
                    assert_eq!(comp_text(gc, &f.d), want_text, "{n}.{c} text of {text:?}");
                }
                let reps: Vec<&[u8]> = repetitions(got, &f.d).collect();
                let want_reps: Vec<&[u8]> = want.repetitions().map(|r| r.raw()).collect();
                assert_eq!(reps, want_reps);
            }
        }
    }

    #[test]
    fn agrees_with_hl7_on_examples() {
        check_against_hl7("MSH|^~\\&|A^B|F&1&ISO|||20260101||ADT^A01^ADT_A01|C|P|2.5\rPID|1||X^^^H&2.1^MR~Y||\"\"|a\\T\\b^c&d\r");
        check_against_hl7("MSH#!@%*#S#F##ADT!A01#C#P#2.5\rPID#1##1!!!M*1#\"\"#x%F%y");
        check_against_hl7("MSH|^\\&|S|F||||ADT^A01|C|P|2.3\rPV1|1|I~O|W^1\r");
    }

    proptest! {
        #[test]
        fn agrees_with_hl7(body in "[A-Z0-9|^~&\\\\\" ]{0,200}") {
            let text = format!("MSH|^~\\&|A|F|||1||ADT^A01|C|P|2.5\rPID|{body}\rPV1|{body}|x\r");
            check_against_hl7(&text);
        }
    }
}
