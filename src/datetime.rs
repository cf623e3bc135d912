//! XEP-0082 date-times, written without a date-time dependency: MAM
//! `<delay>` stamps, node item ids and invitation expiries.

/// The latest time [`stamp`] writes: XEP-0082 years have four digits.
const LAST_STAMP: i64 = 253_402_300_799_999_999;
/// The earliest: 0000-01-01T00:00:00Z.
const FIRST_STAMP: i64 = -62_167_219_200_000_000;

/// Unix microseconds as an XEP-0082 DateTime in UTC, e.g.
/// `2024-05-01T10:00:00Z` or `2024-05-01T10:00:00.000123Z`.
pub fn stamp(micros: i64) -> String {
    let micros = micros.clamp(FIRST_STAMP, LAST_STAMP);
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{frac:06}Z")
    }
}

/// [`stamp`] to the whole second, as node item ids and expiries use.
pub fn stamp_seconds(micros: i64) -> String {
    stamp(micros - micros.rem_euclid(1_000_000))
}

/// Days since 1970-01-01 as a proleptic Gregorian date, by Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
