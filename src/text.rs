//! Text from outside (a router, an HTTP request, a file, a terminal) made
//! safe to print or log: [`escape`] replaces control characters, so that
//! no such text can move a terminal's cursor, retitle its window, or start
//! a new journal entry with a forged priority (`"\n<0>…"`).
//!
//! And numbers written as text: [`fixed`] and [`shortest`] write an `f64`
//! exactly as `format!("{v:.N}")` and `format!("{v}")` do, without std's
//! float formatting (Grisu and Dragon in both modes, some 20 KB of the
//! binary, linked by any `{}` of a float): [`fixed`] rounds with integer
//! arithmetic, [`shortest`] takes its digits from `zmij`, which the JSON
//! serialiser links anyway.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1, and the Unicode line
/// and paragraph separators) written as an escape: `\n`, `\r`, `\t`, the
/// others as `\x1b` or `\u{85}`. Meant for people reading a log, not for
/// decoding: a backslash already in the text stays as it is. Text without
/// control characters is returned as it is, without copying.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Raw bytes (a router's word, which need not be UTF-8) as escaped text:
/// invalid UTF-8 becomes U+FFFD, then [`escape`].
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape(&String::from_utf8_lossy(bytes)).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `value` with `decimals` digits after the point, the same text as
/// `format!("{value:.decimals$}")`: rounded from the exact binary value,
/// ties (which only values with few fraction bits have, like 0.125) to
/// the even digit; a `-` for every negative value, `-0` and those that
/// round to zero too; `NaN`, `inf` and `-inf` as they are.
pub fn fixed(value: f64, decimals: usize) -> String {
    let mut out = String::new();
    push_fixed(&mut out, value, decimals);
    out
}

/// [`fixed`] written at the end of `out`. Whole numbers below 2^53 (the
/// collector's per-second update lines are stamped with them) take no
/// allocation.
pub fn push_fixed(out: &mut String, value: f64, decimals: usize) {
    if let Some(word) = non_finite(value) {
        out.push_str(word);
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGERS {
        push_integer(out, value.abs() as u64);
        if decimals > 0 {
            out.push('.');
            out.extend(std::iter::repeat_n('0', decimals));
        }
        return;
    }
    // |value| = mantissa · 2^exponent, which is mantissa · 5^k / 10^k for
    // k = -exponent: exactly `digits` with `places` of them decimals.
    let bits = value.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    let mut limbs = vec![
        mantissa % BASE,
        mantissa / BASE % BASE,
        mantissa / BASE / BASE,
    ];
    let places = match u32::try_from(exponent) {
        Ok(power) => {
            multiply(&mut limbs, 2, power);
            0
        }
        Err(_) => {
            multiply(&mut limbs, 5, exponent.unsigned_abs());
            exponent.unsigned_abs() as usize
        }
    };
    let digits = limb_digits(&limbs);
    // One digit before the point at least, and all the decimals asked for.
    let mut digits = "0".repeat((places + 1).saturating_sub(digits.len())) + &digits;
    digits.push_str(&"0".repeat(decimals.saturating_sub(places)));
    let (kept, rest) = digits.split_at(digits.len() - places.saturating_sub(decimals));
    let odd = kept.ends_with(['1', '3', '5', '7', '9']);
    let up = match rest.as_bytes() {
        [b'5', after @ ..] => odd || after.iter().any(|&d| d != b'0'),
        [first, ..] => *first > b'5',
        [] => false,
    };
    let mut kept = kept.as_bytes().to_vec();
    if up {
        // Add one in the last place: nines become zeros, the carry stops
        // at the first other digit or becomes a new leading 1.
        let nines = kept.iter().rev().take_while(|&&d| d == b'9').count();
        let at = kept.len() - nines;
        kept[at..].fill(b'0');
        match at {
            0 => kept.insert(0, b'1'),
            _ => kept[at - 1] += 1,
        }
    }
    let (whole, part) = kept.split_at(kept.len() - decimals);
    out.push_str(&String::from_utf8_lossy(whole));
    if decimals > 0 {
        out.push('.');
        out.push_str(&String::from_utf8_lossy(part));
    }
}

/// `value` in plain decimal with the fewest digits that read back as the
/// same `f64` (of those, the nearest to it), as `format!("{value}")`
/// writes it: no exponent, no `.0` for whole numbers (`1e21` is
/// `1000000000000000000000`, `1e-7` is `0.0000001`), `-0` for negative
/// zero, `NaN`, `inf` and `-inf` as they are. One difference: a value
/// exactly halfway between the two nearest (only ones of 17 digits, like
/// 2⁻²⁵ or 1052730259603333.25) gets the even last digit where std rounds
/// up (`…333.2`, std `…333.3`); both read back as the same `f64`.
pub fn shortest(value: f64) -> String {
    let mut out = String::new();
    push_shortest(&mut out, value);
    out
}

/// [`shortest`] written at the end of `out`, without an allocation of
/// its own.
pub fn push_shortest(out: &mut String, value: f64) {
    if let Some(word) = non_finite(value) {
        out.push_str(word);
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    let mut buffer = zmij::Buffer::new();
    // zmij writes `1234.5`, `0.001234`, `12340000000.0` or `1.234e-7`,
    // `1.234e+33`, `5e-324`: digits and the exponent of ten they are
    // scaled by.
    let text = buffer.format_finite(value.abs());
    let (number, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let (whole, part) = number.split_once('.').unwrap_or((number, ""));
    // The digits without the point, read in place.
    let digits = || whole.chars().chain(part.chars());
    let count = whole.len() + part.len();
    let leading = digits().take_while(|&d| d == '0').count();
    let trailing = match leading == count {
        true => 0,
        false => digits().rev().take_while(|&d| d == '0').count(),
    };
    let places = (count - leading - trailing) as i64;
    let significant = || digits().skip(leading).take(places as usize);
    // The point's place counted from the first significant digit.
    let point = whole.len() as i64 + exponent - leading as i64;
    let zeros = |out: &mut String, count: i64| {
        out.extend(std::iter::repeat_n('0', count.unsigned_abs() as usize));
    };
    if places == 0 {
        out.push('0');
    } else if point <= 0 {
        out.push_str("0.");
        zeros(out, point);
        out.extend(significant());
    } else if point >= places {
        out.extend(significant());
        zeros(out, point - places);
    } else {
        out.extend(significant().take(point as usize));
        out.push('.');
        out.extend(significant().skip(point as usize));
    }
}

/// Whole numbers up to this are exact in an `f64` and fit a `u64`.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// `value`'s decimal digits at the end of `out`.
fn push_integer(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// How std writes a float that is not a number of digits.
fn non_finite(value: f64) -> Option<&'static str> {
    match value {
        v if v.is_nan() => Some("NaN"),
        f64::INFINITY => Some("inf"),
        f64::NEG_INFINITY => Some("-inf"),
        _ => None,
    }
}

/// One limb of [`fixed`]'s big numbers: nine decimal digits.
const BASE: u64 = 1_000_000_000;

/// Multiplies the number in `limbs` by `factor^power` (`factor` 2 or 5),
/// by as many factors at a time as stay below 2^31: a limb times that
/// plus the carry fits a `u64`.
fn multiply(limbs: &mut Vec<u64>, factor: u64, mut power: u32) {
    while power > 0 {
        let mut by = 1;
        while power > 0 && by * factor < 1 << 31 {
            by *= factor;
            power -= 1;
        }
        let mut carry = 0;
        for limb in limbs.iter_mut() {
            let product = *limb * by + carry;
            *limb = product % BASE;
            carry = product / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
}

/// The decimal digits of the number in `limbs`, without leading zeros
/// (`0` for zero).
fn limb_digits(limbs: &[u64]) -> String {
    let mut digits = String::new();
    for limb in limbs.iter().rev() {
        match digits.is_empty() {
            true if *limb == 0 => {}
            true => digits = limb.to_string(),
            false => {
                let _ = write!(digits, "{limb:09}");
            }
        }
    }
    match digits.is_empty() {
        true => "0".to_string(),
        false => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(escape("ether1 – WAN ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_and_journal_controls_are_escaped() {
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("bye\n<0>EMERG forged"), "bye\\n<0>EMERG forged");
        assert_eq!(escape("x\ry\tz\x7f"), "x\\ry\\tz\\x7f");
        assert_eq!(escape("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(escape("ls\u{2028}x"), "ls\\u{2028}x");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_then_escaped() {
        assert_eq!(escape_bytes(b"d\xe9\x1b"), "d\u{fffd}\\x1b");
    }

    /// Values where formatting goes wrong first: zeros, ties, powers of
    /// ten and two, the ends of the range, subnormals, huge and tiny.
    fn edge_values() -> Vec<f64> {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -2.5,
            0.125,
            0.375,
            1.0 / 3.0,
            0.1 + 0.2,
            0.05,
            0.95,
            9.5,
            99.5,
            999_999.5,
            0.000_000_5,
            1_764_115_200.123_456,
            1_764_115_200.999_999_4,
            1_764_115_200.999_999_6,
            1_764_115_200.0,
            -1_764_115_200.0,
            u64::MAX as f64,
            ((1u64 << 53) - 1) as f64,
            (1u64 << 53) as f64,
            ((1u64 << 53) + 2) as f64,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e23,
            1.234e33,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            1e-7,
            1e-5,
            1e-4,
            1e-300,
            f64::EPSILON,
            123_456_789_012.0,
        ];
        for e in -30..=30 {
            values.push(10f64.powi(e));
            values.push(2f64.powi(e));
            values.push(-(2f64.powi(e)) * 1.5);
        }
        values
    }

    /// Pseudo-random bit patterns (every finite `f64` equally likely),
    /// and random values of the sizes the program writes (rates, byte
    /// counts, Unix times with microseconds).
    fn random_values(count: usize) -> Vec<f64> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut values = Vec::new();
        while values.len() < count {
            let bits = f64::from_bits(next());
            if bits.is_finite() {
                values.push(bits);
            }
            let small = (next() >> 11) as f64 / (1u64 << 53) as f64;
            values.push(small * 1e10);
            values.push((next() % 10_000_000) as f64 / 1000.0);
            values.push(1.7e9 + (next() % 1_000_000_000_000) as f64 / 1e6);
            values.push(-((next() % 100_000) as f64) / 8.0);
        }
        values
    }

    #[test]
    fn fixed_writes_what_format_writes() {
        for v in edge_values().into_iter().chain(random_values(20_000)) {
            for decimals in 0..=20 {
                assert_eq!(
                    fixed(v, decimals),
                    format!("{v:.decimals$}"),
                    "{v:e} with {decimals}"
                );
            }
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(fixed(v, 2), format!("{v:.2}"));
        }
        for v in [5e-324, f64::MAX, 0.1, -2.5e-300] {
            assert_eq!(fixed(v, 1100), format!("{v:.1100}"));
        }
    }

    #[test]
    fn fixed_rounds_ties_to_even() {
        assert_eq!(fixed(0.5, 0), "0");
        assert_eq!(fixed(1.5, 0), "2");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(fixed(0.125, 2), "0.12");
        assert_eq!(fixed(0.375, 2), "0.38");
        assert_eq!(fixed(-0.01, 1), "-0.0");
        // 0.05 is a little above 0.05 in binary: not a tie.
        assert_eq!(fixed(0.05, 1), "0.1");
    }

    #[test]
    fn shortest_writes_what_format_writes_and_reads_back() {
        let mut ties = Vec::new();
        for v in edge_values().into_iter().chain(random_values(100_000)) {
            let text = shortest(v);
            assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()));
            assert!(!text.contains(['e', 'E']), "{text}");
            let std = format!("{v}");
            if text != std {
                // Only where v lies exactly halfway between the two: std
                // goes up, zmij to the even digit (as `{:.N}` does).
                let decimals = std.split_once('.').map_or(0, |(_, part)| part.len());
                let exact = format!("{v:.1100}");
                let exact = exact.trim_end_matches('0');
                let exact_decimals = exact.split_once('.').map_or(0, |(_, part)| part.len());
                assert_eq!(exact_decimals, decimals + 1, "{text} {std}");
                assert!(exact.ends_with('5'), "{text} {std}");
                assert_eq!(text, format!("{v:.decimals$}"));
                assert_eq!(text.len(), std.len());
                ties.push(v);
            }
        }
        // The random values hit some ties (a `.25` or `.75` with 17 digits).
        assert!(ties.len() < 100, "{ties:?}");
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(shortest(v), format!("{v}"));
        }
        assert_eq!(shortest(-0.0), "-0");
        assert_eq!(shortest(1e21), "1000000000000000000000");
        assert_eq!(shortest(1e-7), "0.0000001");
        assert_eq!(shortest(1500.5), "1500.5");
    }

    #[test]
    fn escaped_text_has_no_control_character_left() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape(&all).chars().any(needs_escape));
    }
}
