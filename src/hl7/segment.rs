//! Lazy field access: [`Segment`] → [`Field`] → [`Repetition`] → [`Component`] →
//! [`Subcomponent`].
//!
//! Each level borrows the message bytes and splits only when asked. Numbering follows HL7:
//! fields, components and subcomponents are 1-based, repetitions 0-based. Absent parts are
//! empty, never an error. `value()` unescapes and decodes text (UTF-8, Latin-1 fallback) and
//! allocates only when the value contains the escape character or is not UTF-8.
//! `Debug` on these types shows lengths only: values are PHI.

use std::borrow::Cow;
use std::fmt;

use super::escape::{decode_text, unescape};
use super::message::Delimiters;

/// The HL7 explicit null `""` ("clear the stored value").
const NULL: &[u8] = b"\"\"";

/// Bit 7 of each byte of the result is set where the byte of `word` equals the byte repeated
/// in `pattern` (exact: no false positives). The word-at-a-time separator search of this
/// module and of `adt::raw`.
#[inline]
pub(crate) fn byte_matches(word: u64, pattern: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let t = word ^ pattern;
    // High bit of each byte set exactly where the byte of `t` is zero (a match).
    !(((t & LO7).wrapping_add(LO7)) | t | LO7)
}

/// Position of the `n`-th (0-based) occurrence of `needle`, eight bytes at a time.
#[inline]
fn find_nth(hay: &[u8], needle: u8, n: usize) -> Option<usize> {
    let pattern = u64::from_le_bytes([needle; 8]);
    let mut remaining = n;
    let mut base = 0;
    let chunks = hay.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let mut hits = byte_matches(word, pattern);
        // Walk the matches (separators are dense in HL7, so this beats a popcount, which
        // is not a single instruction on baseline x86-64).
        while hits != 0 {
            if remaining == 0 {
                return Some(base + (hits.trailing_zeros() / 8) as usize);
            }
            remaining -= 1;
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in tail.iter().enumerate() {
        if b == needle {
            if remaining == 0 {
                return Some(base + i);
            }
            remaining -= 1;
        }
    }
    None
}

/// Position of the first `needle`: a plain scan for short inputs (fields and components are
/// short, and memchr's setup costs more than it saves there), memchr for long ones.
#[inline]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    if hay.len() < 64 {
        hay.iter().position(|&b| b == needle)
    } else {
        memchr::memchr(needle, hay)
    }
}

/// The `idx`-th (0-based) part of `raw` split on `sep`; empty when there are fewer parts.
#[inline]
fn nth_part(raw: &[u8], sep: u8, idx: usize) -> &[u8] {
    let start = if idx == 0 {
        0
    } else {
        match find_nth(raw, sep, idx - 1) {
            Some(p) => p + 1,
            None => return &[],
        }
    };
    let rest = raw.get(start..).unwrap_or_default();
    match find_byte(rest, sep) {
        Some(len) => rest.get(..len).unwrap_or_default(),
        None => rest,
    }
}

#[inline]
fn text<'a>(raw: &'a [u8], delims: &Delimiters, literal: bool) -> Option<Cow<'a, str>> {
    if raw.is_empty() || raw == NULL {
        None
    } else if literal {
        Some(decode_text(raw))
    } else {
        Some(unescape(raw, delims))
    }
}

/// One segment, e.g. `PID|1||12345^^^HOSP^MR`.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    /// MSH, FHS, BHS: field 1 is the field separator itself, field 2 the encoding characters.
    header: bool,
}

impl fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id())
            .field("fields", &self.field_count())
            .finish_non_exhaustive()
    }
}

impl<'a> Segment<'a> {
    /// A segment from its raw bytes (starting with the id) and the message delimiters.
    pub fn new(raw: &'a [u8], delims: Delimiters) -> Self {
        let header = raw.get(..3).is_some_and(|id| {
            id.eq_ignore_ascii_case(b"MSH")
                || id.eq_ignore_ascii_case(b"FHS")
                || id.eq_ignore_ascii_case(b"BHS")
        });
        Segment {
            raw,
            delims,
            header,
        }
    }

    /// The segment id as written, e.g. `"PID"` or `"pid"`.
    pub fn id(&self) -> &'a str {
        self.raw
            .get(..3)
            .and_then(|id| std::str::from_utf8(id).ok())
            .unwrap_or("")
    }

    /// The raw bytes of the whole segment, id included, terminator excluded.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The message delimiters.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delims
    }

    /// Field `n` in HL7 numbering. For MSH (and FHS/BHS) field 1 is the field separator and
    /// field 2 the encoding characters, both returned literally (never split or unescaped); for
    /// other segments field 1 is the first after the id. Field 0 and absent fields are empty.
    pub fn field(&self, n: usize) -> Field<'a> {
        let sep = self.delims.field;
        let empty = Field::new(&[], self.delims, false);
        if n == 0 {
            return empty;
        }
        if self.header && n == 1 {
            return Field::new(self.raw.get(3..4).unwrap_or_default(), self.delims, true);
        }
        // Index of the separator that opens field n (MSH counts MSH-1 as a field).
        let k = if self.header { n - 2 } else { n - 1 };
        let Some(open) = find_nth(self.raw, sep, k) else {
            return empty;
        };
        let rest = self.raw.get(open + 1..).unwrap_or_default();
        let raw = match find_byte(rest, sep) {
            Some(len) => rest.get(..len).unwrap_or_default(),
            None => rest,
        };
        Field::new(raw, self.delims, self.header && n == 2)
    }

    /// Number of fields present (trailing empty fields included); for MSH this counts MSH-1
    /// and MSH-2.
    pub fn field_count(&self) -> usize {
        let sep = self.delims.field;
        let seps = self.raw.iter().filter(|&&b| b == sep).count();
        if self.header {
            seps + 1
        } else {
            seps
        }
    }

    /// Fields 1..=[`field_count`](Self::field_count) in order (one pass over the segment).
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> {
        let sep = self.delims.field;
        let delims = self.delims;
        let header = self.header;
        let first =
            header.then(|| Field::new(self.raw.get(3..4).unwrap_or_default(), delims, true));
        let rest = self
            .raw
            .split(move |&b| b == sep)
            .skip(1)
            .enumerate()
            .map(move |(i, raw)| Field::new(raw, delims, header && i == 0));
        first.into_iter().chain(rest)
    }

    /// Shortcut: first repetition of field `field`, component `comp` (1-based), unescaped;
    /// `None` when empty, absent or the explicit null `""`.
    pub fn value(&self, field: usize, comp: usize) -> Option<Cow<'a, str>> {
        self.field(field).component(comp).value()
    }
}

macro_rules! common_accessors {
    () => {
        /// The raw bytes, still escaped.
        pub fn raw(&self) -> &'a [u8] {
            self.raw
        }

        /// True when nothing was sent (`||`).
        pub fn is_empty(&self) -> bool {
            self.raw.is_empty()
        }

        /// True for the HL7 explicit null `""` ("clear the stored value").
        pub fn is_null(&self) -> bool {
            self.raw == NULL
        }
    };
}

/// One field; may hold repetitions.
#[derive(Clone, Copy)]
pub struct Field<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    /// MSH-1 / MSH-2: never split or unescaped.
    literal: bool,
}

impl fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Field<'a> {
    fn new(raw: &'a [u8], delims: Delimiters, literal: bool) -> Self {
        Field {
            raw,
            delims,
            literal,
        }
    }

    common_accessors!();

    /// The whole field as text, unescaped (delimiters inside it are kept as written, so for
    /// structured fields read [`component`](Self::component) instead). `None` when empty or
    /// `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        text(self.raw, &self.delims, self.literal)
    }

    fn rep_sep(&self) -> Option<u8> {
        if self.literal {
            None
        } else {
            self.delims.repetition
        }
    }

    /// The repetitions (at least one, possibly empty).
    pub fn repetitions(&self) -> impl Iterator<Item = Repetition<'a>> + '_ {
        let sep = self.rep_sep();
        let delims = self.delims;
        let literal = self.literal;
        self.raw
            .split(move |&b| Some(b) == sep)
            .map(move |raw| Repetition {
                raw,
                delims,
                literal,
            })
    }

    /// Number of repetitions (1 for an empty field).
    pub fn repetition_count(&self) -> usize {
        match self.rep_sep() {
            Some(sep) => self.raw.iter().filter(|&&b| b == sep).count() + 1,
            None => 1,
        }
    }

    /// Repetition `i` (0-based); empty when absent.
    pub fn repetition(&self, i: usize) -> Repetition<'a> {
        let raw = match self.rep_sep() {
            Some(sep) => nth_part(self.raw, sep, i),
            None if i == 0 => self.raw,
            None => &[],
        };
        Repetition {
            raw,
            delims: self.delims,
            literal: self.literal,
        }
    }

    /// Component `n` (1-based) of the first repetition.
    pub fn component(&self, n: usize) -> Component<'a> {
        self.repetition(0).component(n)
    }

    /// Components of the first repetition.
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> {
        self.repetition(0).components()
    }
}

/// One repetition of a field; holds components.
#[derive(Clone, Copy)]
pub struct Repetition<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    literal: bool,
}

impl fmt::Debug for Repetition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repetition")
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Repetition<'a> {
    common_accessors!();

    /// The whole repetition as text, unescaped; `None` when empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        text(self.raw, &self.delims, self.literal)
    }

    /// Component `n` (1-based); empty when absent (and for `n == 0`).
    pub fn component(&self, n: usize) -> Component<'a> {
        let raw = match n {
            0 => &[],
            _ if self.literal => {
                if n == 1 {
                    self.raw
                } else {
                    &[]
                }
            }
            _ => nth_part(self.raw, self.delims.component, n - 1),
        };
        Component {
            raw,
            delims: self.delims,
            literal: self.literal,
        }
    }

    /// The components (at least one, possibly empty).
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> {
        let sep = if self.literal {
            None
        } else {
            Some(self.delims.component)
        };
        let delims = self.delims;
        let literal = self.literal;
        self.raw
            .split(move |&b| Some(b) == sep)
            .map(move |raw| Component {
                raw,
                delims,
                literal,
            })
    }
}

/// One component; may hold subcomponents.
#[derive(Clone, Copy)]
pub struct Component<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    literal: bool,
}

impl fmt::Debug for Component<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Component")
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Component<'a> {
    common_accessors!();

    /// The whole component as text, unescaped (subcomponent separators kept); `None` when
    /// empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        text(self.raw, &self.delims, self.literal)
    }

    fn sub_sep(&self) -> Option<u8> {
        if self.literal {
            None
        } else {
            self.delims.subcomponent
        }
    }

    /// Subcomponent `n` (1-based); empty when absent (and for `n == 0`).
    pub fn subcomponent(&self, n: usize) -> Subcomponent<'a> {
        let raw = match (n, self.sub_sep()) {
            (0, _) => &[],
            (_, Some(sep)) => nth_part(self.raw, sep, n - 1),
            (1, None) => self.raw,
            (_, None) => &[],
        };
        Subcomponent {
            raw,
            delims: self.delims,
            literal: self.literal,
        }
    }

    /// The subcomponents (at least one, possibly empty).
    pub fn subcomponents(&self) -> impl Iterator<Item = Subcomponent<'a>> {
        let sep = self.sub_sep();
        let delims = self.delims;
        let literal = self.literal;
        self.raw
            .split(move |&b| Some(b) == sep)
            .map(move |raw| Subcomponent {
                raw,
                delims,
                literal,
            })
    }
}

/// One subcomponent: the smallest unit.
#[derive(Clone, Copy)]
pub struct Subcomponent<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    literal: bool,
}

impl fmt::Debug for Subcomponent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subcomponent")
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Subcomponent<'a> {
    common_accessors!();

    /// The value as text, unescaped; `None` when empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        text(self.raw, &self.delims, self.literal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_nth_matches_naive() {
        let hay = b"a|b||c|dddddddd|e|f|||||||g|h";
        let naive: Vec<usize> = hay
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'|')
            .map(|(i, _)| i)
            .collect();
        for (n, &pos) in naive.iter().enumerate() {
            assert_eq!(find_nth(hay, b'|', n), Some(pos), "n={n}");
        }
        assert_eq!(find_nth(hay, b'|', naive.len()), None);
        assert_eq!(find_nth(b"", b'|', 0), None);
        // Bytes with the high bit set must not look like matches.
        assert_eq!(
            find_nth(b"\xfc\xfc\xfc\xfc\xfc\xfc\xfc\xfc|", b'|', 0),
            Some(8)
        );
        assert_eq!(find_nth(b"\x7c\xfc", 0xfc, 0), Some(1));
    }

    #[test]
    fn nth_part_bounds() {
        assert_eq!(nth_part(b"a^b^c", b'^', 0), b"a");
        assert_eq!(nth_part(b"a^b^c", b'^', 2), b"c");
        assert_eq!(nth_part(b"a^b^c", b'^', 3), b"");
        assert_eq!(nth_part(b"", b'^', 0), b"");
        assert_eq!(nth_part(b"^", b'^', 1), b"");
    }

    #[test]
    fn msh_numbering() {
        let d = Delimiters::default();
        let msh = Segment::new(b"MSH|^~\\&|APP|FAC", d);
        assert_eq!(msh.field(1).raw(), b"|");
        assert_eq!(msh.field(1).value().as_deref(), Some("|"));
        assert_eq!(msh.field(2).component(1).raw(), b"^~\\&");
        assert_eq!(msh.field(2).repetition_count(), 1);
        assert_eq!(msh.field(3).raw(), b"APP");
        assert_eq!(msh.field(4).raw(), b"FAC");
        assert!(msh.field(5).is_empty());
        assert_eq!(msh.field_count(), 4);
        assert_eq!(
            msh.fields().map(|f| f.raw().len()).collect::<Vec<_>>(),
            [1, 4, 3, 3]
        );
        for raw in [
            &b"MSH|^~\\&|APP||X|"[..],
            b"MSH",
            b"PID",
            b"PID|",
            b"PID|a||b|",
        ] {
            let seg = Segment::new(raw, d);
            let by_iter: Vec<_> = seg.fields().map(|f| f.raw()).collect();
            let by_index: Vec<_> = (1..=seg.field_count())
                .map(|n| seg.field(n).raw())
                .collect();
            assert_eq!(by_iter, by_index);
        }
        let bhs = Segment::new(b"BHS|^~\\&|APP", d);
        assert_eq!(bhs.field(3).raw(), b"APP");
        let pid = Segment::new(b"PID|1|2", d);
        assert_eq!(pid.field(1).raw(), b"1");
        assert_eq!(pid.field(2).raw(), b"2");
        assert_eq!(pid.field_count(), 2);
    }
}
