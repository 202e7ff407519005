//! HL7 v2 timestamps (TS up to v2.5, DTM from v2.6): `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`,
//! with the precision the sender used, plus day/second arithmetic for length-of-stay.
//!
//! Lenient fallbacks for shapes real senders use (cosyte `vendor-quirks` / `vendor-shapes`
//! samples), tried only when the value is not HL7 syntax:
//! - ISO 8601: `YYYY-MM-DD[(T| )HH:MM[:SS[.f…]]][Z|±HH[:MM]|±HHMM]`;
//! - US: `MM/DD/YYYY[ HH:MM[:SS]]` (month and day may have one digit).
//!
//! Values are validated (month 1–12, day within the month, leap years, hour ≤ 23, minute and
//! second ≤ 59, offset ≤ ±23:59); errors never contain the value (birth dates are PHI), and
//! `Debug` shows only the precision.

use std::fmt;

/// Why a timestamp could not be read. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The value is empty.
    #[error("timestamp is empty")]
    Empty,
    /// Not HL7 TS/DTM syntax nor a recognised vendor format.
    #[error(
        "timestamp is not YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ] or a recognised vendor format"
    )]
    Format,
    /// A part is out of range (names the part, e.g. `"month"`).
    #[error("timestamp {0} out of range")]
    OutOfRange(&'static str),
    /// The time-zone offset is malformed or out of range.
    #[error("timestamp offset is not +/-HHMM")]
    Offset,
}

/// How much of the timestamp the sender gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    /// `YYYY`
    Year,
    /// `YYYYMM`
    Month,
    /// `YYYYMMDD`
    Day,
    /// `YYYYMMDDHH`
    Hour,
    /// `YYYYMMDDHHMM`
    Minute,
    /// `YYYYMMDDHHMMSS`
    Second,
    /// `YYYYMMDDHHMMSS.S…`
    Fraction,
}

/// A parsed timestamp. Parts beyond the precision are set to their minimum (month/day 1,
/// time 0). `offset_minutes` is the UTC offset when the sender gave one; without it the value
/// is the sender's local time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Year (0–9999).
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–59.
    pub second: u8,
    /// Fraction of the second in nanoseconds.
    pub nanos: u32,
    /// How much the sender gave.
    pub precision: Precision,
    /// UTC offset in minutes (e.g. `-300` for `-0500`), when given.
    pub offset_minutes: Option<i16>,
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Timestamps include birth dates: show only their shape.
        f.debug_struct("Timestamp")
            .field("precision", &self.precision)
            .field("has_offset", &self.offset_minutes.is_some())
            .finish_non_exhaustive()
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(i64::from(year)) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads exactly `n` ASCII digits at `*pos` as a number.
fn digits(b: &[u8], pos: &mut usize, n: usize) -> Option<u32> {
    let part = b.get(*pos..*pos + n)?;
    let mut v: u32 = 0;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    *pos += n;
    Some(v)
}

/// Reads 1 or 2 ASCII digits at `*pos`.
fn one_or_two_digits(b: &[u8], pos: &mut usize) -> Option<u32> {
    let n = b
        .get(*pos..)?
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > 2 {
        return None;
    }
    digits(b, pos, n)
}

/// Fraction digits (1–9) at `*pos` → nanoseconds.
fn fraction(b: &[u8], pos: &mut usize) -> Result<u32, TimestampError> {
    let n = b
        .get(*pos..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > 9 {
        return Err(TimestampError::Format);
    }
    let v = digits(b, pos, n).ok_or(TimestampError::Format)?;
    Ok(v * 10u32.pow(9 - n as u32))
}

/// `+HHMM` / `-HHMM` (and with `colon_ok`, `±HH:MM` or `±HH`) at `*pos` → minutes.
fn offset(b: &[u8], pos: &mut usize, colon_ok: bool) -> Result<i16, TimestampError> {
    let sign: i16 = match b.get(*pos) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(TimestampError::Offset),
    };
    *pos += 1;
    let hh = digits(b, pos, 2).ok_or(TimestampError::Offset)?;
    let mm = if colon_ok && b.get(*pos) == Some(&b':') {
        *pos += 1;
        digits(b, pos, 2).ok_or(TimestampError::Offset)?
    } else if colon_ok && *pos == b.len() {
        0
    } else {
        digits(b, pos, 2).ok_or(TimestampError::Offset)?
    };
    if hh > 23 || mm > 59 {
        return Err(TimestampError::Offset);
    }
    // hh ≤ 23 and mm ≤ 59, so this fits an i16.
    Ok(sign * (hh as i16 * 60 + mm as i16))
}

impl Timestamp {
    /// Parses an HL7 TS/DTM value, or one of the lenient vendor formats (module docs).
    /// Surrounding whitespace is ignored. Never panics.
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        // Values usually arrive trimmed: skip the Unicode-aware trim when both ends are
        // visible ASCII.
        let visible = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_graphic());
        let b = if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
            s.as_bytes()
        } else {
            s.trim().as_bytes()
        };
        if b.is_empty() {
            return Err(TimestampError::Empty);
        }
        // The leading digits decide the format (one pass instead of searching for `/`):
        // `YYYY-MM-DD…` is ISO, digits then `/` the US form, anything else HL7. A value with a
        // `/` later on is still tried as the US form when it is not HL7 (as before).
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') {
            Self::parse_iso(b)
        } else if b.get(n) == Some(&b'/') {
            Self::parse_us(b)
        } else {
            match Self::parse_hl7(b, n) {
                Err(_) if b.contains(&b'/') => Self::parse_us(b),
                r => r,
            }
        }
    }

    /// `n`: the number of leading ASCII digits of `b`.
    fn parse_hl7(b: &[u8], n: usize) -> Result<Timestamp, TimestampError> {
        let precision = match n {
            4 => Precision::Year,
            6 => Precision::Month,
            8 => Precision::Day,
            10 => Precision::Hour,
            12 => Precision::Minute,
            14 => Precision::Second,
            _ => return Err(TimestampError::Format),
        };
        // The first `n` bytes are digits: read the two-digit parts straight from them (0
        // past the precision given).
        let two = |at: usize| -> u8 {
            match b.get(at..at + 2) {
                Some(&[hi, lo]) if at + 2 <= n => (hi - b'0') * 10 + (lo - b'0'),
                _ => 0,
            }
        };
        let year = b
            .get(..4)
            .unwrap_or_default()
            .iter()
            .fold(0u16, |v, &c| v * 10 + u16::from(c - b'0'));
        let mut ts = Timestamp {
            year,
            month: if n >= 6 { two(4) } else { 1 },
            day: if n >= 8 { two(6) } else { 1 },
            hour: two(8),
            minute: two(10),
            second: two(12),
            nanos: 0,
            precision,
            offset_minutes: None,
        };
        let mut pos = n;
        if b.get(pos) == Some(&b'.') {
            if precision != Precision::Second {
                return Err(TimestampError::Format);
            }
            pos += 1;
            ts.nanos = fraction(b, &mut pos)?;
            ts.precision = Precision::Fraction;
        }
        match b.get(pos) {
            None => {}
            Some(b'+' | b'-') => {
                ts.offset_minutes = Some(offset(b, &mut pos, false)?);
                if pos != b.len() {
                    return Err(TimestampError::Offset);
                }
            }
            Some(_) => return Err(TimestampError::Format),
        }
        ts.validate()
    }

    fn parse_iso(b: &[u8]) -> Result<Timestamp, TimestampError> {
        let f = TimestampError::Format;
        let mut pos = 0;
        let year = digits(b, &mut pos, 4).ok_or(f)?;
        let expect = |pos: &mut usize, c: u8| -> Result<(), TimestampError> {
            if b.get(*pos) == Some(&c) {
                *pos += 1;
                Ok(())
            } else {
                Err(TimestampError::Format)
            }
        };
        expect(&mut pos, b'-')?;
        let month = digits(b, &mut pos, 2).ok_or(f)?;
        expect(&mut pos, b'-')?;
        let day = digits(b, &mut pos, 2).ok_or(f)?;
        let mut ts = Timestamp {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            precision: Precision::Day,
            offset_minutes: None,
        };
        if matches!(b.get(pos), Some(b'T' | b't' | b' ')) {
            pos += 1;
            ts.hour = digits(b, &mut pos, 2).ok_or(f)? as u8;
            expect(&mut pos, b':')?;
            ts.minute = digits(b, &mut pos, 2).ok_or(f)? as u8;
            ts.precision = Precision::Minute;
            if b.get(pos) == Some(&b':') {
                pos += 1;
                ts.second = digits(b, &mut pos, 2).ok_or(f)? as u8;
                ts.precision = Precision::Second;
                if matches!(b.get(pos), Some(b'.' | b',')) {
                    pos += 1;
                    ts.nanos = fraction(b, &mut pos)?;
                    ts.precision = Precision::Fraction;
                }
            }
            match b.get(pos) {
                None => {}
                Some(b'Z' | b'z') => {
                    pos += 1;
                    ts.offset_minutes = Some(0);
                }
                Some(b'+' | b'-') => ts.offset_minutes = Some(offset(b, &mut pos, true)?),
                Some(_) => return Err(f),
            }
        }
        if pos != b.len() {
            return Err(f);
        }
        ts.validate()
    }

    fn parse_us(b: &[u8]) -> Result<Timestamp, TimestampError> {
        let f = TimestampError::Format;
        let mut pos = 0;
        let month = one_or_two_digits(b, &mut pos).ok_or(f)?;
        if b.get(pos) != Some(&b'/') {
            return Err(f);
        }
        pos += 1;
        let day = one_or_two_digits(b, &mut pos).ok_or(f)?;
        if b.get(pos) != Some(&b'/') {
            return Err(f);
        }
        pos += 1;
        let year = digits(b, &mut pos, 4).ok_or(f)?;
        let mut ts = Timestamp {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            precision: Precision::Day,
            offset_minutes: None,
        };
        if b.get(pos) == Some(&b' ') {
            pos += 1;
            ts.hour = one_or_two_digits(b, &mut pos).ok_or(f)? as u8;
            if b.get(pos) != Some(&b':') {
                return Err(f);
            }
            pos += 1;
            ts.minute = digits(b, &mut pos, 2).ok_or(f)? as u8;
            ts.precision = Precision::Minute;
            if b.get(pos) == Some(&b':') {
                pos += 1;
                ts.second = digits(b, &mut pos, 2).ok_or(f)? as u8;
                ts.precision = Precision::Second;
            }
        }
        if pos != b.len() {
            return Err(f);
        }
        ts.validate()
    }

    fn validate(self) -> Result<Timestamp, TimestampError> {
        if !(1..=12).contains(&self.month) {
            return Err(TimestampError::OutOfRange("month"));
        }
        if self.day == 0 || self.day > days_in_month(self.year, self.month) {
            return Err(TimestampError::OutOfRange("day"));
        }
        if self.hour > 23 {
            return Err(TimestampError::OutOfRange("hour"));
        }
        if self.minute > 59 {
            return Err(TimestampError::OutOfRange("minute"));
        }
        if self.second > 59 {
            return Err(TimestampError::OutOfRange("second"));
        }
        Ok(self)
    }

    /// How much of the timestamp the sender gave.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// Month 1–12 (1 when below month precision).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// Day 1–31 (1 when below day precision).
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Hour 0–23.
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// Minute 0–59.
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// Second 0–59.
    pub fn second(&self) -> u8 {
        self.second
    }

    /// Fraction of the second in nanoseconds.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// UTC offset in minutes, when the sender gave one.
    pub fn offset_minutes(&self) -> Option<i16> {
        self.offset_minutes
    }

    /// Days since 1970-01-01 of the date as written (the sender's local date; no offset
    /// applied). Use for day-granular arithmetic such as length of stay in days.
    pub fn days_since_epoch(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// Seconds since 1970-01-01T00:00:00 of the wall-clock time as written, ignoring any
    /// offset (as if it were UTC).
    pub fn local_epoch_seconds(&self) -> i64 {
        self.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Seconds since the Unix epoch: the wall-clock time minus the offset when one was given;
    /// without an offset, the local clock read as UTC (same as
    /// [`local_epoch_seconds`](Self::local_epoch_seconds)). Differences between two values
    /// from the same sender are exact either way.
    pub fn epoch_seconds(&self) -> i64 {
        self.local_epoch_seconds() - i64::from(self.offset_minutes.unwrap_or(0)) * 60
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn precisions() {
        assert_eq!(ts("1970").precision(), Precision::Year);
        assert_eq!(ts("197002").precision(), Precision::Month);
        assert_eq!(ts("19700205").precision(), Precision::Day);
        assert_eq!(ts("1970020512").precision(), Precision::Hour);
        assert_eq!(ts("198807050000").precision(), Precision::Minute);
        assert_eq!(ts("20260101120000").precision(), Precision::Second);
        let t = ts("20260101120000.1234");
        assert_eq!(t.precision(), Precision::Fraction);
        assert_eq!(t.nanos, 123_400_000);
    }

    #[test]
    fn fields_and_offset() {
        let t = ts("20120918173931-0500");
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2012, 9, 18, 17, 39, 31)
        );
        assert_eq!(t.offset_minutes, Some(-300));
        assert_eq!(ts("198808181126+0215").offset_minutes, Some(135));
        assert_eq!(ts("20260101-0500").offset_minutes, Some(-300));
        let y = ts("1970");
        assert_eq!((y.month, y.day, y.hour), (1, 1, 0));
    }

    #[test]
    fn epoch_arithmetic() {
        assert_eq!(ts("19700101").days_since_epoch(), 0);
        assert_eq!(ts("19691231").days_since_epoch(), -1);
        assert_eq!(ts("20000301").days_since_epoch(), 11_017);
        assert_eq!(ts("20260115143000").local_epoch_seconds(), 1_768_487_400);
        // 12:00 at -0500 is 17:00 UTC.
        assert_eq!(
            ts("20260115120000-0500").epoch_seconds(),
            ts("20260115170000").epoch_seconds()
        );
        let los = ts("20260310").days_since_epoch() - ts("20260226").days_since_epoch();
        assert_eq!(los, 12);
    }

    #[test]
    fn leap_years() {
        assert!(Timestamp::parse("20240229").is_ok());
        assert_eq!(
            Timestamp::parse("20230229"),
            Err(TimestampError::OutOfRange("day"))
        );
        assert!(Timestamp::parse("20000229").is_ok());
        assert!(Timestamp::parse("19000229").is_err());
    }

    #[test]
    fn invalid_values_are_errors() {
        use TimestampError::*;
        assert_eq!(Timestamp::parse(""), Err(Empty));
        assert_eq!(Timestamp::parse("   "), Err(Empty));
        assert_eq!(Timestamp::parse("20261301"), Err(OutOfRange("month")));
        assert_eq!(Timestamp::parse("20260100"), Err(OutOfRange("day")));
        assert_eq!(Timestamp::parse("2026010124"), Err(OutOfRange("hour")));
        assert_eq!(Timestamp::parse("202601011260"), Err(OutOfRange("minute")));
        assert_eq!(
            Timestamp::parse("20260101120060"),
            Err(OutOfRange("second"))
        );
        assert_eq!(Timestamp::parse("202601011"), Err(Format));
        assert_eq!(Timestamp::parse("2026abc"), Err(Format));
        assert_eq!(Timestamp::parse("20260101+05"), Err(Offset));
        assert_eq!(Timestamp::parse("20260101+2500"), Err(Offset));
        assert_eq!(Timestamp::parse("2026010112.5"), Err(Format));
        assert_eq!(Timestamp::parse("20260101120000."), Err(Format));
        assert_eq!(Timestamp::parse("é"), Err(Format));
    }

    #[test]
    fn iso_fallback() {
        let t = ts("2026-01-15T14:30:00");
        assert_eq!(t, ts("20260115143000"));
        assert_eq!(ts("2026-01-15").precision(), Precision::Day);
        assert_eq!(ts("2026-01-15 14:30").precision(), Precision::Minute);
        assert_eq!(ts("2026-01-15T14:30:00Z").offset_minutes, Some(0));
        assert_eq!(ts("2026-01-15T14:30:00-05:00").offset_minutes, Some(-300));
        assert_eq!(ts("2026-01-15T14:30:00.5+0100").nanos, 500_000_000);
        assert!(Timestamp::parse("2026-13-15").is_err());
        assert!(Timestamp::parse("2026-01-15T").is_err());
    }

    #[test]
    fn us_fallback() {
        let t = ts("01/15/2025");
        assert_eq!((t.year, t.month, t.day), (2025, 1, 15));
        assert_eq!(t.precision(), Precision::Day);
        let t = ts("01/15/2025 14:30:00");
        assert_eq!(t, ts("20250115143000"));
        assert_eq!(ts("1/5/2025 9:05").precision(), Precision::Minute);
        assert!(Timestamp::parse("15/01/2025").is_err());
        assert!(Timestamp::parse("01/15/25").is_err());
    }

    #[test]
    fn debug_hides_value() {
        let s = format!("{:?}", ts("19800115"));
        assert!(!s.contains("1980"), "{s}");
    }
}
