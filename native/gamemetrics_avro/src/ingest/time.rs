//! Event times as `ingest.validation.parse_time_ms` reads them, and `iso_ms` for messages.
//!
//! The common RFC 3339 form (`YYYY-MM-DDTHH:MM:SS[.fff|.ffffff](Z|+HH:MM|-HH:MM)`, fields in
//! range) is read here with the same float arithmetic as `int(datetime.timestamp() * 1000)`;
//! every other string goes to the Python function itself (``None`` from `fast_rfc3339`).

pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// Below this many microseconds an i64 -> f64 conversion is exact (then `us / 1e6` is Python's
/// correctly rounded int/int division).
const EXACT_US: i128 = 1 << 53;

fn digits(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as i64;
    }
    Some(n)
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `Some(verdict)` when `s` is in the common form (the verdict is Python's), None otherwise.
pub fn fast_rfc3339(s: &str) -> Option<Option<i64>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, sec) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    let mut i = 19;
    let mut us = 0i64;
    if b[i] == b'.' {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        us = match n {
            3 => digits(&b[i + 1..i + 4])? * 1000,
            6 => digits(&b[i + 1..i + 7])?,
            _ => return None,
        };
        i += 1 + n;
    }
    let offset_min = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'-' { -(oh * 60 + om) } else { oh * 60 + om }
        }
        _ => return None,
    };
    if y < 1 || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    let total_us = seconds as i128 * 1_000_000 + us as i128;
    if total_us.abs() >= EXACT_US {
        return None;
    }
    let ms = ((total_us as f64) / 1e6 * 1000.0).trunc();
    Some(if (0.0..=MAX_TIME_MS as f64).contains(&ms) { Some(ms as i64) } else { None })
}

/// `iso_ms` of ingest/validation.py: `2026-11-22T10:00:00Z`, or a note for a time outside the calendar.
pub fn iso_ms(ms: i64) -> String {
    if !(0..=MAX_TIME_MS).contains(&ms) {
        return format!("{ms} ms since 1970 (outside 1970..9999)");
    }
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil_from_days (Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
