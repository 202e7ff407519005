//! Splitting raw input into messages: UTF-8 BOM, MLLP framing, FHS/BHS/BTS/FTS batch
//! envelopes, blank lines.
//!
//! [`split_messages`] never fails: anything it cannot place is handed on as an item so that
//! [`Message::parse`](super::Message::parse) reports it with a typed error, and nothing is
//! dropped silently. Envelope segments are consumed here; their declared counts are checked and
//! mismatches exposed through [`Messages::count_mismatches`] (a warning, not an error).

use std::fmt;

use super::message::{strip_bom, trim_line, Lines, MLLP_END, MLLP_START};

/// Which envelope trailer declared a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trailer {
    /// `BTS`: BTS-1 is the number of messages in the batch.
    Batch,
    /// `FTS`: FTS-1 is the number of batches in the file.
    File,
}

/// A BTS-1 / FTS-1 count that disagrees with what the input held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountMismatch {
    /// The trailer segment that declared the count.
    pub trailer: Trailer,
    /// The count it declared.
    pub declared: u64,
    /// The count found (messages starting with MSH since the batch header, or batches in the
    /// file).
    pub actual: u64,
}

/// The messages found by [`split_messages`], in input order.
///
/// Iterates the byte slices of the messages. Envelope information is available at any time
/// (the input is split eagerly): [`count_mismatches`](Self::count_mismatches),
/// [`batch_count`](Self::batch_count).
#[derive(Clone)]
pub struct Messages<'a> {
    items: Vec<&'a [u8]>,
    next: usize,
    mismatches: Vec<CountMismatch>,
    batches: u64,
    file_header: bool,
}

impl fmt::Debug for Messages<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages")
            .field("items", &self.items.len())
            .field("next", &self.next)
            .field("mismatches", &self.mismatches)
            .field("batches", &self.batches)
            .field("file_header", &self.file_header)
            .finish()
    }
}

impl<'a> Messages<'a> {
    /// BTS-1 / FTS-1 counts that disagree with the input (empty when the input had no trailer
    /// or every count matched). Trailers whose count field is empty or not a number are not
    /// checked.
    pub fn count_mismatches(&self) -> &[CountMismatch] {
        &self.mismatches
    }

    /// Number of batches (BHS or BTS segments) seen.
    pub fn batch_count(&self) -> u64 {
        self.batches
    }

    /// True when the input had a file header (FHS).
    pub fn has_file_header(&self) -> bool {
        self.file_header
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let item = self.items.get(self.next).copied();
        if item.is_some() {
            self.next += 1;
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.items.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Messages<'_> {}

/// What a line is, by its segment id.
#[derive(PartialEq, Eq)]
enum LineKind {
    Msh,
    Fhs,
    Bhs,
    Bts,
    Fts,
    Other,
}

fn line_kind(line: &[u8]) -> LineKind {
    let Some(id) = line.get(..3) else {
        return LineKind::Other;
    };
    // The id must end there: "MSHX|" is not an MSH.
    if line.get(3).is_some_and(u8::is_ascii_alphanumeric) {
        return LineKind::Other;
    }
    let is = |name: &[u8]| id.eq_ignore_ascii_case(name);
    if is(b"MSH") {
        LineKind::Msh
    } else if is(b"FHS") {
        LineKind::Fhs
    } else if is(b"BHS") {
        LineKind::Bhs
    } else if is(b"BTS") {
        LineKind::Bts
    } else if is(b"FTS") {
        LineKind::Fts
    } else {
        LineKind::Other
    }
}

/// Field 1 of a trailer line (`BTS|3|…`) as a number, when it is one.
fn trailer_count(line: &[u8]) -> Option<u64> {
    let sep = *line.get(3)?;
    let rest = line.get(4..)?;
    let field = match memchr::memchr(sep, rest) {
        Some(k) => rest.get(..k)?,
        None => rest,
    };
    let field = field.trim_ascii();
    if field.is_empty() || field.len() > 18 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Accumulates items and envelope counts while scanning.
struct Splitter<'a> {
    input: &'a [u8],
    items: Vec<&'a [u8]>,
    current: Option<(usize, usize)>,
    batch_messages: u64,
    file_batches: u64,
    bhs_seen: u64,
    bts_seen: u64,
    file_header: bool,
    mismatches: Vec<CountMismatch>,
    saw_content: bool,
}

impl<'a> Splitter<'a> {
    fn close(&mut self) {
        if let Some((s, e)) = self.current.take() {
            self.items.push(self.input.get(s..e).unwrap_or_default());
        }
    }

    fn piece(&mut self, start: usize, end: usize) {
        let (start, end) = trim_line(self.input, start, end);
        if start >= end {
            return;
        }
        self.saw_content = true;
        let line = self.input.get(start..end).unwrap_or_default();
        match line_kind(line) {
            LineKind::Msh => {
                self.close();
                self.current = Some((start, end));
                self.batch_messages += 1;
            }
            LineKind::Fhs => {
                self.close();
                self.file_header = true;
                self.file_batches = 0;
            }
            LineKind::Bhs => {
                self.close();
                self.bhs_seen += 1;
                self.file_batches += 1;
                self.batch_messages = 0;
            }
            LineKind::Bts => {
                self.close();
                self.bts_seen += 1;
                if let Some(declared) = trailer_count(line) {
                    if declared != self.batch_messages {
                        self.mismatches.push(CountMismatch {
                            trailer: Trailer::Batch,
                            declared,
                            actual: self.batch_messages,
                        });
                    }
                }
                // A BTS without a BHS still closed a batch.
                if self.file_batches == 0 {
                    self.file_batches = 1;
                }
                self.batch_messages = 0;
            }
            LineKind::Fts => {
                self.close();
                if let Some(declared) = trailer_count(line) {
                    if declared != self.file_batches {
                        self.mismatches.push(CountMismatch {
                            trailer: Trailer::File,
                            declared,
                            actual: self.file_batches,
                        });
                    }
                }
                self.file_batches = 0;
            }
            LineKind::Other => match &mut self.current {
                Some((_, e)) => *e = end,
                None => self.current = Some((start, end)),
            },
        }
    }
}

/// Splits raw input (a file, a Kafka record) into the byte slices of its messages.
///
/// - strips a UTF-8 BOM, MLLP framing (`0x0B … 0x1C 0x0D`, several frames, stray start/end
///   bytes: each frame boundary also ends a message), blank and whitespace-only lines;
/// - consumes batch envelopes (FHS, BHS, BTS, FTS) and checks BTS-1 / FTS-1 counts (see
///   [`Messages::count_mismatches`]);
/// - starts a new message at every MSH;
/// - yields text that is neither an envelope nor part of a message starting with MSH (e.g. a
///   file starting with EVN or PID) as an item of its own, so that parsing it gives a typed
///   error;
/// - yields one item for input with no content at all (parsing it fails with
///   [`ParseErrorKind::Empty`](super::ParseErrorKind::Empty)).
///
/// Terminators are CR, LF or CRLF in any mixture. Items keep their inner terminators and are
/// meant for [`Message::parse`](super::Message::parse).
pub fn split_messages(input: &[u8]) -> Messages<'_> {
    let input = strip_bom(input);
    let mut sp = Splitter {
        input,
        items: Vec::new(),
        current: None,
        batch_messages: 0,
        file_batches: 0,
        bhs_seen: 0,
        bts_seen: 0,
        file_header: false,
        mismatches: Vec::new(),
        saw_content: false,
    };
    for (start, end) in Lines::new(input) {
        // MLLP start/end bytes inside a line are frame boundaries.
        let mut s = start;
        let line = input.get(start..end).unwrap_or_default();
        for k in memchr::memchr2_iter(MLLP_START, MLLP_END, line) {
            sp.piece(s, start + k);
            sp.close();
            s = start + k + 1;
        }
        sp.piece(s, end);
    }
    sp.close();
    if !sp.saw_content {
        sp.items.push(input);
    }
    Messages {
        items: sp.items,
        next: 0,
        mismatches: sp.mismatches,
        batches: sp.bhs_seen.max(sp.bts_seen),
        file_header: sp.file_header,
    }
}
