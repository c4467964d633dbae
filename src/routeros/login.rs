//! The pure part of the pre-6.43 login, shared by the client and the
//! simulator: the MD5 challenge response and the plain hex text that
//! challenges and responses travel as. No I/O.

use md5::{Digest, Md5};

/// The pre-6.43 challenge response: `00` and the hex MD5 of a zero byte,
/// the password and the challenge bytes.
pub fn legacy_response(password: &[u8], challenge: &[u8]) -> String {
    let mut md5 = Md5::new();
    md5.update([0u8]);
    md5.update(password);
    md5.update(challenge);
    format!("00{}", to_hex(&md5.finalize()))
}

/// Bytes as lowercase hex digits without separators.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digits (either case) as bytes; `None` for an odd length or a
/// character that is not a hex digit.
pub fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    text.chunks(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_responses_match_the_documented_pairs() {
        let cases: [(&str, &str, &str); 3] = [
            (
                "",
                "856780b7411eefd3abadee2058c149a3",
                "005062f7a5ef124d34675bf3e81f56c556",
            ),
            (
                "",
                "93b438ec9b80057c06dd9fe67d56aa9a",
                "00e134102a9d330dd7b1849fedfea3cb57",
            ),
            ("passTest", "abc123", "0021277bff9ac7caf06aa608e46616d47f"),
        ];
        for (password, challenge, response) in cases {
            let challenge = from_hex(challenge.as_bytes()).unwrap();
            assert_eq!(legacy_response(password.as_bytes(), &challenge), response);
        }
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(from_hex(b"00fFa5"), Some(vec![0x00, 0xff, 0xa5]));
        assert_eq!(to_hex(&[0x00, 0xff, 0xa5]), "00ffa5");
        assert_eq!(from_hex(b"abc"), None);
        assert_eq!(from_hex(b"zz"), None);
        assert_eq!(from_hex(b"+1"), None);
        assert_eq!(from_hex(b""), Some(vec![]));
    }
}
