//! Civil-calendar arithmetic for the simulator: days and minutes since 1970-01-01 (the sender's
//! local clock, no time zone), and HL7 TS formatting.
//!
//! Written by hand rather than through the `time` crate because it runs for every timestamp of
//! every generated message (millions per run) and needs nothing but proleptic Gregorian dates;
//! the unit tests check it against `time`.

/// Minutes in a day.
pub(crate) const DAY: i64 = 24 * 60;

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The same month and day `years` earlier (29 February becomes 28 February).
pub(crate) fn minus_years(day: i64, years: i64) -> i64 {
    let (y, m, d) = civil_from_days(day);
    let d = if m == 2 && d == 29 { 28 } else { d };
    days_from_civil(y - years, m, d)
}

/// Completed years of age on `at` for a birth on `birth` (both day numbers).
pub(crate) fn age_years(birth: i64, at: i64) -> i64 {
    let (by, bm, bd) = civil_from_days(birth);
    let (ay, am, ad) = civil_from_days(at);
    let mut years = ay - by;
    if (am, ad) < (bm, bd) {
        years -= 1;
    }
    years
}

fn push_digits(out: &mut Vec<u8>, value: i64, width: usize) {
    let mut buf = [b'0'; 8];
    let mut v = value.unsigned_abs();
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Writes `YYYYMMDD` of a day number.
pub(crate) fn push_date(out: &mut Vec<u8>, day: i64) {
    let (y, m, d) = civil_from_days(day);
    push_digits(out, y, 4);
    push_digits(out, i64::from(m), 2);
    push_digits(out, i64::from(d), 2);
}

/// Writes `YYYYMMDDHHMM` of a minute number.
pub(crate) fn push_minute(out: &mut Vec<u8>, minute: i64) {
    push_date(out, minute.div_euclid(DAY));
    let tod = minute.rem_euclid(DAY);
    push_digits(out, tod / 60, 2);
    push_digits(out, tod % 60, 2);
}

/// Writes `YYYYMMDDHHMMSS` of a minute number plus `seconds` (0–59).
pub(crate) fn push_seconds(out: &mut Vec<u8>, minute: i64, seconds: u32) {
    push_minute(out, minute);
    push_digits(out, i64::from(seconds % 60), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_matches_time_crate() {
        for day in (-800_000i64..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            if (1..=9999).contains(&y) {
                let date = time::Date::from_calendar_date(
                    y as i32,
                    time::Month::try_from(m as u8).unwrap(),
                    d as u8,
                )
                .unwrap();
                let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap();
                assert_eq!((date - epoch).whole_days(), day);
            }
        }
    }

    #[test]
    fn formats_minutes() {
        let mut out = Vec::new();
        let minute = days_from_civil(2016, 2, 29) * DAY + 7 * 60 + 5;
        push_minute(&mut out, minute);
        assert_eq!(out, b"201602290705");
        out.clear();
        push_seconds(&mut out, minute, 9);
        assert_eq!(out, b"20160229070509");
    }

    #[test]
    fn ages_use_completed_years() {
        let birth = days_from_civil(1940, 12, 15);
        assert_eq!(age_years(birth, days_from_civil(2020, 1, 10)), 79);
        assert_eq!(age_years(birth, days_from_civil(2020, 12, 15)), 80);
        assert_eq!(
            minus_years(days_from_civil(2016, 2, 29), 1),
            days_from_civil(2015, 2, 28)
        );
    }
}
