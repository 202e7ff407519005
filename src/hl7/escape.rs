//! HL7 v2 escape sequences: decoding values (`\F\ \S\ \T\ \R\ \E\ \P\ \Xhh\`, formatting
//! commands) and encoding text for output, plus the UTF-8 / Latin-1 text decoding of values.
//!
//! The escape character comes from MSH-2 ([`Delimiters::escape`]); nothing here assumes `\`.
//! Decoding allocates only when the value contains the escape character or is not valid UTF-8.

use std::borrow::Cow;

use super::message::Delimiters;

/// Longest run of newlines/spaces produced by one `\.sp n\` or `\.sk n\` command.
const MAX_LAYOUT_REPEAT: usize = 32;

/// Decodes the escape sequences of one raw value and turns it into text.
///
/// - `\F\ \S\ \T\ \R\ \E\ \P\` become the delimiter they name (kept literally when the message
///   does not define that delimiter);
/// - `\Xhh…\` becomes the bytes it encodes (an odd or non-hex payload is kept literally);
/// - `\.br\` becomes a newline, `\.sp n\` n newlines, `\.sk n\` n spaces; `\H\`, `\N\`,
///   `\.fi\`, `\.nf\`, `\.ce\`, `\.in n\`, `\.ti n\` and the charset switches `\Cxxyy\`,
///   `\Mxxyy[zz]\` are dropped (they only change presentation);
/// - anything else (`\Zxx\`, unknown or malformed sequences) and an unterminated sequence are kept
///   literally, escape characters included.
///
/// The result is decoded as UTF-8, falling back to Latin-1 when the bytes are not valid UTF-8.
pub fn unescape<'a>(raw: &'a [u8], delims: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = delims.escape else {
        return decode_text(raw);
    };
    let Some(first) = super::segment::find_byte(raw, esc) else {
        return decode_text(raw);
    };
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut pos = 0;
    let mut next = Some(first);
    while let Some(i) = next {
        out.extend_from_slice(raw.get(pos..i).unwrap_or_default());
        let body_start = i + 1;
        let rest = raw.get(body_start..).unwrap_or_default();
        let Some(len) = memchr::memchr(esc, rest) else {
            // Unterminated: keep the rest literally.
            out.extend_from_slice(raw.get(i..).unwrap_or_default());
            pos = raw.len();
            break;
        };
        let body = rest.get(..len).unwrap_or_default();
        let end = body_start + len; // index of the closing escape char
        if !decode_sequence(body, delims, esc, &mut out) {
            out.extend_from_slice(raw.get(i..=end).unwrap_or_default());
        }
        pos = end + 1;
        next = raw
            .get(pos..)
            .and_then(|r| memchr::memchr(esc, r))
            .map(|k| k + pos);
    }
    out.extend_from_slice(raw.get(pos..).unwrap_or_default());
    decode_owned(out)
}

/// Appends the decoded form of one escape sequence body (between the escape characters).
/// Returns false when the sequence is not recognised and must be kept literally.
fn decode_sequence(body: &[u8], d: &Delimiters, esc: u8, out: &mut Vec<u8>) -> bool {
    let push_opt = |c: Option<u8>, out: &mut Vec<u8>| match c {
        Some(c) => {
            out.push(c);
            true
        }
        None => false,
    };
    match body {
        b"F" => {
            out.push(d.field);
            true
        }
        b"S" => {
            out.push(d.component);
            true
        }
        b"T" => push_opt(d.subcomponent, out),
        b"R" => push_opt(d.repetition, out),
        b"E" => {
            out.push(esc);
            true
        }
        b"P" => push_opt(d.truncation, out),
        b"H" | b"N" => true,
        [b'X', hex @ ..] => decode_hex(hex, out),
        [b'C', hex @ ..] => hex.len() == 4 && hex.iter().all(u8::is_ascii_hexdigit),
        [b'M', hex @ ..] => {
            (hex.len() == 4 || hex.len() == 6) && hex.iter().all(u8::is_ascii_hexdigit)
        }
        [b'.', cmd @ ..] => decode_format(cmd, out),
        _ => false,
    }
}

fn decode_hex(hex: &[u8], out: &mut Vec<u8>) -> bool {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return false;
    }
    let start = out.len();
    for pair in hex.chunks_exact(2) {
        match (hex_val(pair[0]), hex_val(pair[1])) {
            (Some(h), Some(l)) => out.push((h << 4) | l),
            _ => {
                out.truncate(start);
                return false;
            }
        }
    }
    true
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Formatted-text commands (`\.br\`, `\.sp n\` …). Returns false for unknown commands.
fn decode_format(cmd: &[u8], out: &mut Vec<u8>) -> bool {
    let name_len = cmd.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (name, arg) = cmd.split_at(name_len);
    let arg = arg.trim_ascii();
    let count = |default: usize| -> Option<usize> {
        if arg.is_empty() {
            return Some(default);
        }
        let digits = arg.strip_prefix(b"+").unwrap_or(arg);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut n: usize = 0;
        for &d in digits {
            n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        }
        Some(n.min(MAX_LAYOUT_REPEAT))
    };
    match name {
        b"br" if arg.is_empty() => {
            out.push(b'\n');
            true
        }
        b"sp" => match count(1) {
            Some(n) => {
                out.extend(std::iter::repeat_n(b'\n', n));
                true
            }
            None => false,
        },
        b"sk" => match count(1) {
            Some(n) => {
                out.extend(std::iter::repeat_n(b' ', n));
                true
            }
            None => false,
        },
        b"fi" | b"nf" | b"ce" if arg.is_empty() => true,
        b"in" | b"ti" => {
            let magnitude = arg
                .strip_prefix(b"-")
                .or_else(|| arg.strip_prefix(b"+"))
                .unwrap_or(arg);
            magnitude.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Decodes value bytes as UTF-8, falling back to Latin-1 (every byte is one code point) when the
/// bytes are not valid UTF-8. Borrows when the bytes are valid UTF-8.
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(latin1(bytes)),
    }
}

fn decode_owned(bytes: Vec<u8>) -> Cow<'static, str> {
    match String::from_utf8(bytes) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(latin1(e.as_bytes())),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Escapes text so it can be written as one HL7 value (a subcomponent) with these delimiters:
/// each delimiter becomes its escape sequence; CR, LF and the MLLP bytes 0x0B / 0x1C become
/// `\X0D\`, `\X0A\`, `\X0B\`, `\X1C\` (they would otherwise end a segment or a frame).
///
/// Borrows when nothing needs escaping. When the delimiters define no escape character, the
/// text is returned unchanged (such a message cannot carry delimiter characters in values).
pub fn escape<'t>(text: &'t str, delims: &Delimiters) -> Cow<'t, str> {
    let Some(esc) = delims.escape else {
        return Cow::Borrowed(text);
    };
    let code = |b: u8| -> Option<&'static [u8]> {
        if b == esc {
            Some(b"E")
        } else if b == delims.field {
            Some(b"F")
        } else if b == delims.component {
            Some(b"S")
        } else if Some(b) == delims.subcomponent {
            Some(b"T")
        } else if Some(b) == delims.repetition {
            Some(b"R")
        } else if Some(b) == delims.truncation {
            Some(b"P")
        } else if b == b'\r' {
            Some(b"X0D")
        } else if b == b'\n' {
            Some(b"X0A")
        } else if b == 0x0B {
            Some(b"X0B")
        } else if b == 0x1C {
            Some(b"X1C")
        } else {
            None
        }
    };
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| code(b).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        match code(b) {
            Some(c) => {
                out.push(esc);
                out.extend_from_slice(c);
                out.push(esc);
            }
            None => out.push(b),
        }
    }
    // Delimiters are ASCII, so replacing them keeps the text valid UTF-8.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| latin1(e.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_delims() -> Delimiters {
        Delimiters::default()
    }

    fn un(s: &str) -> String {
        unescape(s.as_bytes(), &std_delims()).into_owned()
    }

    #[test]
    fn standard_sequences() {
        assert_eq!(un(r"a\F\b\S\c\T\d\R\e\E\f"), r"a|b^c&d~e\f");
        assert_eq!(un(r"Smith \T\ Sons"), "Smith & Sons");
    }

    #[test]
    fn truncation_sequence_needs_truncation_char() {
        assert_eq!(un(r"a\P\b"), r"a\P\b");
        let mut d = std_delims();
        d.truncation = Some(b'#');
        assert_eq!(unescape(br"a\P\b", &d), "a#b");
    }

    #[test]
    fn hex_and_formatting() {
        assert_eq!(un(r"\X4142\"), "AB");
        assert_eq!(un(r"\XC3A9\"), "é");
        assert_eq!(un(r"line1\.br\line2"), "line1\nline2");
        assert_eq!(un(r"\H\bold\N\"), "bold");
        assert_eq!(un(r"a\.sp 2\b"), "a\n\nb");
        assert_eq!(un(r"a\.sk 3\b"), "a   b");
        assert_eq!(un(r"a\.in +4\b\.fi\c\.ce\"), "abc");
        assert_eq!(un(r"x\C2842\y\M248428\z"), "xyz");
    }

    #[test]
    fn unknown_and_bad_sequences_are_literal() {
        assert_eq!(un(r"a\Zfoo\b"), r"a\Zfoo\b");
        assert_eq!(un(r"a\Q\b"), r"a\Q\b");
        assert_eq!(un(r"a\X4\b"), r"a\X4\b");
        assert_eq!(un(r"a\XZZ\b"), r"a\XZZ\b");
        assert_eq!(un(r"a\.zz\b"), r"a\.zz\b");
        assert_eq!(un(r"a\.sp x\b"), r"a\.sp x\b");
        assert_eq!(un(r"C:\\dir"), r"C:\\dir");
    }

    #[test]
    fn unterminated_is_literal() {
        assert_eq!(un(r"abc\F"), r"abc\F");
        assert_eq!(un(r"\"), r"\");
        assert_eq!(un(r"a\F\b\"), r"a|b\");
    }

    #[test]
    fn escape_char_comes_from_delimiters() {
        let d = Delimiters {
            field: b'#',
            component: b'!',
            repetition: Some(b'@'),
            escape: Some(b'%'),
            subcomponent: Some(b'*'),
            truncation: None,
        };
        assert_eq!(unescape(b"a%F%b%S%c%E%", &d), "a#b!c%");
        assert_eq!(unescape(br"a\F\b", &d), r"a\F\b");
    }

    #[test]
    fn borrows_without_escape_char() {
        assert!(matches!(
            unescape(b"plain", &std_delims()),
            Cow::Borrowed("plain")
        ));
        assert!(matches!(unescape(br"a\F\", &std_delims()), Cow::Owned(_)));
    }

    #[test]
    fn latin1_fallback() {
        assert_eq!(unescape(b"M\xfcller", &std_delims()), "Müller");
        assert_eq!(unescape(b"M\xfcller\\F\\", &std_delims()), "Müller|");
        assert_eq!(unescape("Müller".as_bytes(), &std_delims()), "Müller");
        // \X escapes producing invalid UTF-8 fall back to Latin-1 too.
        assert_eq!(un(r"\XE9\"), "é");
    }

    #[test]
    fn escape_round_trips() {
        let d = std_delims();
        let text = "a|b^c&d~e\\f\r\ng";
        let esc = escape(text, &d);
        assert_eq!(esc, r"a\F\b\S\c\T\d\R\e\E\f\X0D\\X0A\g");
        assert_eq!(unescape(esc.as_bytes(), &d), text);
        assert!(matches!(escape("plain", &d), Cow::Borrowed("plain")));
    }
}
