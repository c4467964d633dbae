//! The original's `xor:` password format: obfuscation, not encryption.
//!
//! The key is SHA-256 of the machine id (`/etc/machine-id`, else
//! `/var/lib/dbus/machine-id`, else a fixed text), and a password is stored
//! as `xor:` + padded standard base64 of its UTF-8 bytes XORed with the key
//! repeated. Anyone who can read the config and the world-readable machine
//! id can undo it; it only keeps the password from being read over a
//! shoulder (`docs/original.md`, section 6).
//!
//! [`Key::from_machine_id`], [`obfuscate`], [`deobfuscate`] and [`reveal`]
//! are pure and reproduce the original exactly, including Python's lenient
//! base64 decoding (characters outside the alphabet are skipped, input after
//! complete padding is ignored). [`read_machine_id`] is the one function
//! here that touches the file system.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha2::{Digest, Sha256};

/// Where the machine id is looked for, in this order.
pub const MACHINE_ID_PATHS: [&str; 2] = ["/etc/machine-id", "/var/lib/dbus/machine-id"];

/// The id used when no machine id file is readable, or the first readable
/// one is empty.
pub const FALLBACK_ID: &str = "mt-trafmon-static-fallback-key-v1";

/// The prefix that marks an obfuscated password.
pub const PREFIX: &str = "xor:";

/// The 32-byte key: SHA-256 of the machine id.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl fmt::Debug for Key {
    /// Leaves the bytes out: with them a password can be read back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// The key for the content of a machine id file, as the original
    /// derives it: line ends normalised to `\n` (Python's text mode),
    /// surrounding white space stripped (Python's `str.strip`), the
    /// fallback id if nothing is left, then SHA-256 of the UTF-8 bytes.
    pub fn from_machine_id(content: &str) -> Key {
        let text = content.replace("\r\n", "\n").replace('\r', "\n");
        let id = text.trim_matches(is_python_space);
        let id = if id.is_empty() { FALLBACK_ID } else { id };
        Key(Sha256::digest(id.as_bytes()).into())
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why an `xor:` value could not be turned back into a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The text after `xor:` holds a character that is not ASCII (Python's
    /// base64 refuses such a string outright).
    NotAscii,
    /// The base64 is cut short; the message is Python's.
    Base64(String),
    /// The bytes do not form UTF-8 text after the XOR: almost always a
    /// value written on another machine, whose machine id gave another key.
    NotUtf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotAscii => f.write_str("the base64 text holds a non-ASCII character"),
            DecodeError::Base64(message) => write!(f, "the base64 text is invalid ({message})"),
            DecodeError::NotUtf8 => f.write_str(
                "it does not decode to text with this machine's key (was it written on another machine?)",
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Stores `password` the original's way: empty stays empty, anything else
/// becomes `xor:` + padded standard base64 of the XORed UTF-8 bytes.
pub fn obfuscate(key: &Key, password: &str) -> String {
    if password.is_empty() {
        return String::new();
    }
    format!("{PREFIX}{}", STANDARD.encode(xor(key, password.as_bytes())))
}

/// The password behind a stored value: a value that is empty or does not
/// start with `xor:` is a plain password and comes back unchanged; an
/// `xor:` value is decoded, or the reason it cannot be is returned.
pub fn deobfuscate(key: &Key, stored: &str) -> Result<String, DecodeError> {
    let Some(encoded) = stored.strip_prefix(PREFIX) else {
        return Ok(stored.to_string());
    };
    let data = lenient_base64(encoded)?;
    let bytes = LENIENT
        .decode(&data)
        .map_err(|e| DecodeError::Base64(e.to_string()))?;
    String::from_utf8(xor(key, &bytes)).map_err(|_| DecodeError::NotUtf8)
}

/// Exactly the original's `decrypt_password`: [`deobfuscate`], and on any
/// failure the stored text itself (so the literal `xor:…` would be sent to
/// the router as the password).
pub fn reveal(key: &Key, stored: &str) -> String {
    deobfuscate(key, stored).unwrap_or_else(|_| stored.to_string())
}

/// The content of the first readable file among `paths` (the original
/// stops at a readable but empty file), or the empty string when none is
/// readable. Bytes that are not UTF-8 are replaced (the original would
/// have stopped with an exception; a machine id is hex). Pass
/// [`MACHINE_ID_PATHS`] outside tests.
pub fn read_machine_id<P: AsRef<Path>>(paths: &[P]) -> String {
    for path in paths {
        if let Ok(bytes) = std::fs::read(path) {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    String::new()
}

/// This machine's key, from [`MACHINE_ID_PATHS`].
pub fn machine_key() -> Key {
    Key::from_machine_id(&read_machine_id(&MACHINE_ID_PATHS))
}

/// White space as Python's `str.isspace` sees it: Rust's `char::is_whitespace`
/// plus the four ASCII separators U+001C to U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Decodes base64 without padding and ignores bits left over in the last
/// character, like Python's non-strict decoder; [`lenient_base64`] has
/// already chosen the characters and checked their count.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

fn xor(key: &Key, data: &[u8]) -> Vec<u8> {
    data.iter()
        .zip(key.0.iter().cycle())
        .map(|(byte, k)| byte ^ k)
        .collect()
}

/// The base64 characters Python's `binascii.a2b_base64` (non-strict) would
/// decode from `text`, without padding: characters outside the alphabet
/// are skipped; `=` counts as padding only after the second character of a
/// group, and once a group is complete with its padding the rest is
/// ignored. A group left incomplete is an error, with Python's message.
fn lenient_base64(text: &str) -> Result<Vec<u8>, DecodeError> {
    if !text.is_ascii() {
        return Err(DecodeError::NotAscii);
    }
    let mut data = Vec::with_capacity(text.len());
    let mut pads = 0;
    for byte in text.bytes() {
        if byte == b'=' {
            let in_group = data.len() % 4;
            if in_group >= 2 {
                pads += 1;
                if in_group + pads >= 4 {
                    return Ok(data);
                }
            }
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/') {
            continue;
        }
        pads = 0;
        data.push(byte);
    }
    match data.len() % 4 {
        0 => Ok(data),
        1 => Err(DecodeError::Base64(format!(
            "number of data characters ({}) cannot be 1 more than a multiple of 4",
            data.len()
        ))),
        _ => Err(DecodeError::Base64("Incorrect padding".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef\n";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Every vector of `docs/original.md`, section 6, both ways.
    #[test]
    fn reference_vectors() {
        let fallback = Key::from_machine_id("");
        let vectors = [
            (Key::from_machine_id(ID), "secret", "xor:TdTeMfwz"),
            (
                Key::from_machine_id(ID),
                "correct horse battery staple 0123456789",
                "xor:Xd7PMfwkn1ZB95cVqeKC+LPldPlWYCTopYe2TnBRhssNhYh1rn/S",
            ),
            (fallback.clone(), "secret", "xor:QhBmLLl6"),
            (
                Key::from_machine_id("3d1219c7c4c5404aaa1f6d2a48adfda4"),
                "secret",
                "xor:c1D17KBL",
            ),
        ];
        for (key, password, stored) in vectors {
            assert_eq!(obfuscate(&key, password), stored, "{password}");
            assert_eq!(deobfuscate(&key, stored).as_deref(), Ok(password));
            assert_eq!(reveal(&key, stored), password);
        }
        assert_eq!(
            hex(fallback.bytes()),
            "3175055edc0e0129d38a59a0a3f14732d0d6e5c23291a7b0244d8d45285abd5d"
        );
    }

    #[test]
    fn the_fallback_id_is_used_for_empty_and_blank_ids() {
        let fallback = Key::from_machine_id(FALLBACK_ID);
        assert_eq!(Key::from_machine_id(""), fallback);
        assert_eq!(Key::from_machine_id(" \n\t\r\n\u{1f}"), fallback);
        assert_ne!(Key::from_machine_id("x"), fallback);
        // Surrounding white space and line-end style do not change the key.
        assert_eq!(
            Key::from_machine_id(ID),
            Key::from_machine_id(ID.trim_end())
        );
        assert_eq!(Key::from_machine_id("a\r\nb"), Key::from_machine_id("a\nb"));
        assert_ne!(Key::from_machine_id("a\nb"), Key::from_machine_id("ab"));
        assert_eq!(format!("{fallback:?}"), "Key(<redacted>)");
    }

    #[test]
    fn round_trips_any_text() {
        let key = Key::from_machine_id(ID);
        // Longer than the key, non-ASCII, every padding length.
        for password in ["p", "pä", "päs", "€uro", &"x".repeat(100), "a%b=c"] {
            let stored = obfuscate(&key, password);
            assert!(stored.starts_with(PREFIX), "{stored}");
            assert_eq!(deobfuscate(&key, &stored).as_deref(), Ok(password));
        }
        assert_eq!(obfuscate(&key, ""), "");
    }

    #[test]
    fn plain_values_pass_through() {
        let key = Key::from_machine_id(ID);
        for plain in ["", "secret", "XOR:TdTeMfwz", " xor:TdTeMfwz", "xo"] {
            assert_eq!(deobfuscate(&key, plain).as_deref(), Ok(plain));
        }
        // `xor:` with nothing after it is an empty password, as in Python.
        assert_eq!(deobfuscate(&key, "xor:").as_deref(), Ok(""));
    }

    /// Python's non-strict base64 (checked against Python 3.11's
    /// `base64.b64decode`): junk skipped, text after complete padding
    /// ignored, stray `=` early in a group skipped, trailing bits allowed.
    #[test]
    fn lenient_base64_like_python() {
        let ok = |text: &str, bytes: &[u8]| {
            let data = lenient_base64(text).unwrap();
            assert_eq!(LENIENT.decode(data).unwrap(), bytes, "{text}");
        };
        ok("TdTeMfwz", &[0x4d, 0xd4, 0xde, 0x31, 0xfc, 0x33]);
        ok("Td Te\nMf-wz!", &[0x4d, 0xd4, 0xde, 0x31, 0xfc, 0x33]);
        ok("QQ==garbage", b"A");
        ok("=QUJD", b"ABC");
        ok("====QUJD", b"ABC");
        ok("QR==", b"A");
        ok("Q Q = = ", b"A");
        ok("QQ=x=", b"A\x0c");
        ok("", b"");
        let error = |text: &str| lenient_base64(text).unwrap_err();
        assert_eq!(
            error("QQ="),
            DecodeError::Base64("Incorrect padding".into())
        );
        assert_eq!(
            error("QUJ"),
            DecodeError::Base64("Incorrect padding".into())
        );
        assert!(matches!(error("QUJDR"), DecodeError::Base64(m) if m.contains("(5)")));
        assert!(matches!(error("Q==="), DecodeError::Base64(m) if m.contains("(1)")));
        assert_eq!(error("QUJDé"), DecodeError::NotAscii);
    }

    #[test]
    fn failures_reveal_the_stored_text_like_the_original() {
        let here = Key::from_machine_id(ID);
        let elsewhere = Key::from_machine_id("3d1219c7c4c5404aaa1f6d2a48adfda4");
        // 16 bytes of "é" (0xc3 0xa9 ...) are valid UTF-8 only with the right key.
        let stored = obfuscate(&here, &"é".repeat(8));
        assert_eq!(deobfuscate(&elsewhere, &stored), Err(DecodeError::NotUtf8));
        assert_eq!(reveal(&elsewhere, &stored), stored);
        for broken in ["xor:QQ=", "xor:é", "xor:QUJDR"] {
            assert!(deobfuscate(&here, broken).is_err(), "{broken}");
            assert_eq!(reveal(&here, broken), broken);
        }
    }

    #[test]
    fn reads_the_first_readable_machine_id_file() {
        let dir = std::env::temp_dir().join(format!("mt-trafmon-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let etc = dir.join("etc-machine-id");
        let dbus = dir.join("dbus-machine-id");
        let absent = dir.join("absent");
        std::fs::write(&dbus, "3d1219c7c4c5404aaa1f6d2a48adfda4\n").unwrap();

        // No first file: the second one is read.
        let text = read_machine_id(&[&absent, &dbus]);
        assert_eq!(
            Key::from_machine_id(&text),
            Key::from_machine_id("3d1219c7c4c5404aaa1f6d2a48adfda4")
        );
        // A directory is not readable as a file either.
        assert_eq!(read_machine_id(&[&dir, &dbus]), text);
        // A readable but empty first file stops the search: fallback key.
        std::fs::write(&etc, "").unwrap();
        assert_eq!(read_machine_id(&[&etc, &dbus]), "");
        assert_eq!(
            Key::from_machine_id(&read_machine_id(&[&etc, &dbus])),
            Key::from_machine_id(FALLBACK_ID)
        );
        // Nothing readable at all: the fallback key.
        assert_eq!(read_machine_id(&[&absent, &dir.join("also-absent")]), "");
        // A readable first file wins.
        std::fs::write(&etc, ID).unwrap();
        assert_eq!(read_machine_id(&[&etc, &dbus]), ID);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
