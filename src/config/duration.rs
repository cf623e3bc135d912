//! Durations as admins write them: a whole number and a unit (`30s`, `5m`, `12h`, `7d`).
//!
//! One syntax everywhere (config keys and CLI flags) so an admin never has to
//! guess whether a field wants seconds or milliseconds.

use std::time::Duration;

/// Why a duration string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{input}' is not a duration: write a whole number and a unit s, m, h or d, such as 30s or 7d"
)]
pub struct DurationError {
    input: String,
}

/// Parses `30s`, `5m`, `12h` or `7d`. Zero is allowed; callers that need a
/// positive value check it themselves, with a message naming their key.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: input.to_owned(),
    };
    let s = input.trim();
    let split = s.len().checked_sub(1).ok_or_else(err)?;
    let (digits, unit) = (
        s.get(..split).ok_or_else(err)?,
        s.get(split..).ok_or_else(err)?,
    );
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let n: u64 = digits.parse().map_err(|_| err())?;
    let secs_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(secs_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(err)
}

/// Writes a duration back in the largest unit that divides it exactly, so
/// `check-config` prints what the admin would have written.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s != 0 && s % size == 0 {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "s",
            "10",
            "10x",
            "-1s",
            "1.5h",
            "1 s",
            "99999999999999999999d",
            "+5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(604_800)), "7d");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
