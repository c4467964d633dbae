//! RouterOS time values: formatting an uptime (`1w2d3h4m5s`) and reading
//! the durations clients send (`1s`, `500ms`, `00:00:01`, `00:00:00.500`).
//!
//! This module does no I/O and reads no clock.

use std::time::Duration;

/// Formats whole seconds as RouterOS prints an uptime over the API: weeks,
/// days, hours, minutes and seconds (`1w2d3h4m5s`), leaving out every unit
/// that is zero (`4m12s`, `1h5s`), and `0s` for zero.
///
/// Leaving out zero units in the middle as well as at the front is an
/// assumption: the examples found only show leading units left out.
pub(crate) fn format_uptime(seconds: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (604_800, "w"),
        (86_400, "d"),
        (3600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut rest = seconds;
    let mut out = String::new();
    for (size, unit) in UNITS {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Reads a RouterOS duration.
///
/// Two forms are accepted: a clock form `[D:]HH:MM:SS[.fraction]` (hours,
/// minutes and seconds of one or two digits), and a sequence of numbers with
/// units `w`, `d`, `h`, `m`, `s`, `ms` (`1m30s`, `500ms`, `1.5s`), where a
/// number without a unit means seconds. Anything else, or a value above a
/// year, is `None`.
pub(crate) fn parse_duration(text: &[u8]) -> Option<Duration> {
    let text = std::str::from_utf8(text).ok()?;
    let millis = match text.contains(':') {
        true => clock_form(text)?,
        false => unit_form(text)?,
    };
    match millis <= 366 * 86_400_000 {
        true => Some(Duration::from_millis(millis)),
        false => None,
    }
}

/// `[D:]HH:MM:SS[.fraction]` in milliseconds.
fn clock_form(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split(':').collect();
    let (days, hours, minutes, seconds) = match parts.as_slice() {
        [h, m, s] => ("0", *h, *m, *s),
        [d, h, m, s] => (*d, *h, *m, *s),
        _ => return None,
    };
    let days = digits(days, 1, 3)?;
    let hours = digits(hours, 1, 2)?;
    let minutes = digits(minutes, 1, 2)?;
    if minutes >= 60 {
        return None;
    }
    let (whole, fraction) = match seconds.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (seconds, None),
    };
    let whole = digits(whole, 1, 2)?;
    if whole >= 60 {
        return None;
    }
    let fraction_ms = match fraction {
        Some(fraction) => fraction_millis(fraction)?,
        None => 0,
    };
    Some((((days * 24 + hours) * 60 + minutes) * 60 + whole) * 1000 + fraction_ms)
}

/// A sequence like `1w2d3h4m5s`, `500ms` or `1.5` in milliseconds.
fn unit_form(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit_ms: u64 = match unit {
            "w" => 604_800_000,
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" | "" => 1000,
            "ms" => 1,
            _ => return None,
        };
        total = total.checked_add(scaled(number, unit_ms)?)?;
        rest = next;
    }
    Some(total)
}

/// `number` (digits with an optional fraction) times `unit_ms`, rounded down.
fn scaled(number: &str, unit_ms: u64) -> Option<u64> {
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole_ms = match whole.is_empty() {
        true => 0,
        false => digits(whole, 1, 12)?.checked_mul(unit_ms)?,
    };
    if fraction.is_empty() {
        return Some(whole_ms);
    }
    let fraction = &fraction[..fraction.len().min(9)];
    let numerator = digits(fraction, 1, 9)?;
    let denominator = 10u64.pow(fraction.len() as u32);
    Some(whole_ms + numerator * unit_ms / denominator)
}

/// The first three digits of a decimal fraction as milliseconds.
fn fraction_millis(fraction: &str) -> Option<u64> {
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{:0<3}", &fraction[..fraction.len().min(3)]);
    padded.parse().ok()
}

/// A run of `min..=max` ASCII digits as a number.
fn digits(text: &str, min: usize, max: usize) -> Option<u64> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_leaves_out_zero_units() {
        for (seconds, expected) in [
            (0, "0s"),
            (5, "5s"),
            (252, "4m12s"),
            (3600, "1h"),
            (3605, "1h5s"),
            (86_400 + 7200 + 180 + 4, "1d2h3m4s"),
            (604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5, "1w2d3h4m5s"),
            (3 * 604_800, "3w"),
        ] {
            assert_eq!(format_uptime(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn durations_in_both_forms() {
        for (text, millis) in [
            ("1s", 1000),
            ("500ms", 500),
            ("20ms", 20),
            ("5", 5000),
            ("1.5s", 1500),
            ("0.02", 20),
            ("1m30s", 90_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            ("1w", 604_800_000),
            ("00:00:01", 1000),
            ("00:00:00.500", 500),
            ("00:00:00.02", 20),
            ("00:00:05", 5000),
            ("0:1:2", 62_000),
            ("1:00:00:00", 86_400_000),
        ] {
            assert_eq!(
                parse_duration(text.as_bytes()),
                Some(Duration::from_millis(millis)),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in [
            "",
            "s",
            "1x",
            "1 s",
            "-1s",
            "00:60:00",
            "00:00:60",
            "1:2",
            "a:b:c",
            "00:00:00.",
            ".",
            "1..5s",
            "99999999999999999999s",
            "400d",
        ] {
            assert_eq!(parse_duration(text.as_bytes()), None, "{text:?}");
        }
        assert_eq!(parse_duration(b"\xff1s"), None);
    }
}
