//! Single-pass field access for [`AdtEvent::from_message`](super::AdtEvent::from_message).
//!
//! `hl7::Segment::field(n)` rescans the segment from its start on every call, which made PV1
//! (fields up to 45) and PID the most expensive part of building an event. [`Fields`] splits a
//! segment once; the helpers below then split repetitions, components and subcomponents of the
//! raw field bytes and unescape with [`hl7::unescape`], with the same rules as the `hl7`
//! accessors (1-based components, `""` is the explicit null, undeclared separators do not split).

use std::borrow::Cow;

use compact_str::CompactString;

use crate::hl7::segment::byte_matches;
use crate::hl7::{self, Delimiters, Segment};

/// The highest field number the event reads (PV1-45).
pub(super) const MAX_FIELD: usize = 45;

/// The HL7 explicit null.
const NULL: &[u8] = b"\"\"";

/// How the values of one segment become text: its delimiters and, found once per segment,
/// whether it is valid UTF-8 and whether it holds the escape character at all.
///
/// Most segments are valid UTF-8 without escape sequences; their values are then sliced out of
/// the segment's `&str` with no per-value validation or escape scan.
#[derive(Clone, Copy)]
pub(super) struct Text<'a> {
    /// The message delimiters.
    pub(super) d: Delimiters,
    /// The whole segment.
    raw: &'a [u8],
    /// The whole segment as text, when it is valid UTF-8.
    utf8: Option<&'a str>,
    /// The segment contains the escape character.
    escapes: bool,
}

impl<'a> Text<'a> {
    /// `header`: MSH/FHS/BHS, whose field 2 (the encoding characters, never unescaped)
    /// holds the escape character itself; the search for escapes starts after it.
    fn of(raw: &'a [u8], d: Delimiters, header: bool) -> Self {
        let values = if header {
            // `MSH|^~\&|…`: the values start after the separator that closes MSH-2.
            let after_enc = raw
                .get(4..)
                .and_then(|rest| rest.iter().position(|&b| b == d.field))
                .map_or(raw.len(), |p| p + 4);
            raw.get(after_enc..).unwrap_or_default()
        } else {
            raw
        };
        Text {
            d,
            raw,
            utf8: std::str::from_utf8(raw).ok(),
            escapes: d
                .escape
                .is_some_and(|e| memchr::memchr(e, values).is_some()),
        }
    }

    /// `part` (a sub-slice of this segment) as `&str`, when the segment is valid UTF-8 and
    /// `part` starts and ends on character boundaries (always so between ASCII delimiters).
    /// `None` for a slice that is not part of this segment.
    #[inline]
    fn str_of(&self, part: &[u8]) -> Option<&'a str> {
        let s = self.utf8?;
        // Offset of `part` in the segment; a slice from elsewhere gives an out-of-range offset
        // (wrapping) and `get` refuses it. In range, `part` is that very range of the segment.
        let start = (part.as_ptr() as usize).wrapping_sub(self.raw.as_ptr() as usize);
        s.get(start..start.checked_add(part.len())?)
    }

    /// `true` when `part` (a sub-slice of this segment) needs no escape decoding.
    #[inline]
    fn plain(&self, part: &[u8]) -> bool {
        match (self.escapes, self.d.escape) {
            (true, Some(e)) => !part.contains(&e),
            _ => true,
        }
    }
}

/// The raw fields of one segment, split once, numbered as in HL7.
pub(super) struct Fields<'a> {
    raw: &'a [u8],
    /// `starts[k]`: index of the first byte of part `k` of the segment split on the field
    /// separator (part 0 is the id); [`ABSENT`] when the segment has fewer parts or the part
    /// lies beyond the last one located (see [`Fields::of`]).
    starts: [u32; MAX_FIELD + 2],
    /// MSH/FHS/BHS: field `n` is part `n - 1` (MSH-1 is the separator itself).
    header: bool,
    /// Text decoding for this segment (delimiters included).
    pub(super) t: Text<'a>,
}

/// Marks a part the segment does not have.
const ABSENT: u32 = u32::MAX;

impl<'a> Fields<'a> {
    /// Splits `seg` up to field `last` (at most [`MAX_FIELD`]); fields beyond it may read as
    /// absent. For MSH (and FHS/BHS), where MSH-1 is the separator itself, pass
    /// `header = true`.
    pub(super) fn of(seg: &Segment<'a>, header: bool, last: usize) -> Self {
        let d = *seg.delimiters();
        let raw = seg.raw();
        let mut starts = [ABSENT; MAX_FIELD + 2];
        starts[0] = 0;
        // Locate parts 1..=limit: the last field read and the start of the next one, which
        // ends it.
        let last_part = if header { last.saturating_sub(1) } else { last };
        let limit = last_part.min(MAX_FIELD) + 1;
        // Offsets are `u32`: a segment longer than 4 GiB (far beyond any Kafka record) has its
        // fields located only within the first 4 GiB.
        let scan = raw
            .get(..raw.len().min(u32::MAX as usize - 8))
            .unwrap_or(raw);
        // Eight bytes at a time: segments run to hundreds of bytes and separators are dense,
        // so neither a byte loop nor a `memchr` call per separator is cheap. The limit is
        // checked per word, not per separator, so up to seven parts beyond it may be located
        // too (their offsets are right; `get` may use them).
        let pattern = u64::from_le_bytes([d.field; 8]);
        let mut found = 0;
        let mut chunks = scan.chunks_exact(8);
        let mut base: u32 = 0;
        for chunk in chunks.by_ref() {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            let mut hits = byte_matches(word, pattern);
            while hits != 0 {
                found += 1;
                if let Some(slot) = starts.get_mut(found) {
                    *slot = base + hits.trailing_zeros() / 8 + 1;
                }
                hits &= hits - 1;
            }
            if found >= limit {
                break;
            }
            base += 8;
        }
        if found < limit {
            for (i, &b) in (base..).zip(chunks.remainder()) {
                if b == d.field {
                    found += 1;
                    if let Some(slot) = starts.get_mut(found) {
                        *slot = i + 1;
                    }
                }
            }
        }
        Fields {
            raw,
            starts,
            header,
            t: Text::of(raw, d, header),
        }
    }

    /// The delimiters.
    #[inline]
    pub(super) fn d(&self) -> &Delimiters {
        &self.t.d
    }

    /// Raw field `n` (empty when absent, beyond the last field located, or MSH-1).
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
                    .position(|&b| b == self.t.d.field)
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

/// Component `n` (1-based) of the first repetition of a raw field, in one pass, eight bytes at
/// a time (the separators are found per word, as in [`Fields::of`]).
#[inline]
pub(super) fn component<'a>(field: &'a [u8], d: &Delimiters, n: usize) -> &'a [u8] {
    if n == 0 {
        return &[];
    }
    let comp_pattern = u64::from_le_bytes([d.component; 8]);
    let rep_pattern = d.repetition.map(|r| u64::from_le_bytes([r; 8]));
    let mut comp = 1;
    let mut start = 0;
    // Called at each separator (component or repetition) at `i`: `Some(result)` ends the
    // search.
    let mut at = |i: usize| -> Option<&'a [u8]> {
        let part = field.get(start..i).unwrap_or_default();
        if field.get(i).copied() != Some(d.component) {
            // The repetition separator: the first repetition ends here.
            return Some(if comp == n { part } else { &[] });
        }
        if comp == n {
            return Some(part);
        }
        comp += 1;
        start = i + 1;
        None
    };
    let mut chunks = field.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let mut hits =
            byte_matches(word, comp_pattern) | rep_pattern.map_or(0, |p| byte_matches(word, p));
        while hits != 0 {
            if let Some(found) = at(base + (hits.trailing_zeros() / 8) as usize) {
                return found;
            }
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in (base..).zip(chunks.remainder()) {
        if b == d.component || Some(b) == d.repetition {
            if let Some(found) = at(i) {
                return found;
            }
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

/// The unescaped text of a raw value (a sub-slice of the segment `t` describes), trimmed of
/// spaces and tabs; `None` when empty, blank or `""`.
#[inline]
pub(super) fn text(raw: &[u8], t: &Text<'_>) -> Option<CompactString> {
    let raw = trim_bytes(raw);
    if raw.is_empty() || raw == NULL {
        return None;
    }
    // Most values are valid UTF-8 without escape sequences: slice them out of the segment's
    // text, skipping the general decoder.
    if t.plain(raw) {
        if let Some(s) = t.str_of(raw) {
            return Some(CompactString::new(s));
        }
    }
    let value: Cow<'_, str> = hl7::unescape(raw, &t.d);
    // Escapes can decode to blanks at the edges (`\.sp\`, `\.br\`).
    let v = value.trim_matches(|c| c == ' ' || c == '\t');
    if v.is_empty() {
        None
    } else {
        Some(CompactString::new(v))
    }
}

/// Value of subcomponent 1 of a raw component: the value of a primitive component, the
/// namespace of an HD, the code of a CWE.
#[inline]
pub(super) fn comp_text(comp: &[u8], t: &Text<'_>) -> Option<CompactString> {
    text(subcomponent(comp, &t.d, 1), t)
}

#[inline]
fn trim_bytes(mut raw: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    // Most values have nothing to trim.
    if !raw.first().is_some_and(blank) && !raw.last().is_some_and(blank) {
        return raw;
    }
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
            let f = Fields::of(&seg, header, MAX_FIELD);
            let first = if header { 3 } else { 1 };
            for n in first..=MAX_FIELD {
                let want = seg.field(n);
                let got = f.get(n);
                assert_eq!(got, want.raw(), "field {n} of {text:?}");
                assert_eq!(is_null(got), want.is_null());
                for c in 1..=4 {
                    let wc = want.component(c);
                    let gc = component(got, f.d(), c);
                    assert_eq!(gc, wc.raw(), "{n}.{c} of {text:?}");
                    for s in 1..=3 {
                        assert_eq!(subcomponent(gc, f.d(), s), wc.subcomponent(s).raw());
                    }
                    let sub = wc.subcomponent(1);
                    // Padding around `""` still makes an explicit null here; an escape that
                    // decodes to two quotes (`"\N\"`) is text, not the null.
                    let want_text = if trim_bytes(sub.raw()) == NULL {
                        None
                    } else {
                        sub.value()
                            .map(|v| CompactString::new(v.trim_matches([' ', '\t'])))
                            .filter(|v| !v.is_empty())
                    };
                    assert_eq!(comp_text(gc, &f.t), want_text, "{n}.{c} text of {text:?}");
                }
                let reps: Vec<&[u8]> = repetitions(got, f.d()).collect();
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
