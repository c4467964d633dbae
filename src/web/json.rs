//! The settings page's request bodies read as JSON ([`parse`], RFC 8259)
//! into a [`Value`]: a small reader and value type, because `serde_json`'s
//! own deserializer (with its float parser, `memchr` and CPU feature
//! detection) would cost the binary ~16 KB, and its `Value` (a `BTreeMap`
//! per object) a few KB more, and these bodies are a few form fields.
//! Nesting is limited to [`MAX_DEPTH`] (the reader recurses); a key given
//! twice keeps its last value, as `serde_json` does. Numbers are read as
//! `serde_json` reads them: whole ones as `u64`, or `i64` when negative,
//! when they fit, others as a finite `f64`.

use std::ops::Index;

/// The deepest nesting of arrays and objects read (a form is 6 deep).
pub const MAX_DEPTH: usize = 32;

/// A JSON value, with the accessors of `serde_json::Value` that the
/// settings routes use.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number from 0 to `u64::MAX`.
    Unsigned(u64),
    /// A negative whole number from `i64::MIN`.
    Negative(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's keys and values in the order given (a key may repeat:
    /// the last one counts).
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value of `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string's text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// A whole number from 0 as `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(n) => Some(n),
            _ => None,
        }
    }

    /// Any number as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Unsigned(n) => Some(n as f64),
            Value::Negative(n) => Some(n as f64),
            Value::Float(n) => Some(n),
            _ => None,
        }
    }

    /// A flag.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    /// An array's values.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(list) => Some(list),
            _ => None,
        }
    }

    /// Whether it is `null`.
    pub fn is_null(&self) -> bool {
        *self == Value::Null
    }

    /// Whether it is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

/// `value["key"]`: the key's value, `null` when there is none (as in
/// `serde_json`).
impl Index<&str> for Value {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&Value::Null)
    }
}

/// The JSON value of `text`, or what is wrong at which byte.
pub fn parse(text: &[u8]) -> Result<Value, String> {
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.space();
    match reader.at == text.len() {
        true => Ok(value),
        false => Err(reader.error("text after the value")),
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips white space, then `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.space();
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut map = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.space();
                        if self.peek() != Some(b'"') {
                            return Err(self.error("expected a key"));
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected ':'"));
                        }
                        map.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or '}'"));
                        }
                    }
                }
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                self.at += 1;
                let mut list = Vec::new();
                if !self.eat(b']') {
                    loop {
                        list.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or ']'"));
                        }
                    }
                }
                Ok(Value::Array(list))
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("expected a value")),
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if !self.text[self.at..].starts_with(word.as_bytes()) {
            return Err(self.error("expected a value"));
        }
        self.at += word.len();
        Ok(value)
    }

    /// Skips ASCII digits; whether there was one.
    fn digits(&mut self) -> bool {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at > start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`: a whole
    /// number as `u64` or `i64` when it fits, else `f64` (finite).
    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        self.at += usize::from(self.peek() == Some(b'-'));
        let first = self.at;
        if !self.digits() || (self.text[first] == b'0' && self.at - first > 1) {
            return Err(self.error("malformed number"));
        }
        let mut whole = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            whole = false;
            if !self.digits() {
                return Err(self.error("malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            whole = false;
            self.at += usize::from(matches!(self.peek(), Some(b'+' | b'-')));
            if !self.digits() {
                return Err(self.error("malformed number"));
            }
        }
        // ASCII digits and signs only, so always UTF-8.
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or_default();
        if whole {
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Unsigned(n));
            }
            // "-0" is -0.0, as serde_json reads it.
            match text.parse::<i64>() {
                Ok(n) if n < 0 => return Ok(Value::Negative(n)),
                _ => {}
            }
        }
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::Float(n)),
            _ => Err(self.error("number out of range")),
        }
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let escape = self.peek();
                    self.at += 1;
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode()?,
                        _ => return Err(self.error("unknown escape")),
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => out.push(byte),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("a string that is not UTF-8"))
    }

    /// The character of a `\u` escape (after the `u`), a surrogate pair
    /// as one.
    fn unicode(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF if self.text[self.at..].starts_with(b"\\u") => {
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("unpaired surrogate"));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.text.get(self.at..self.at + 4).unwrap_or_default();
        let mut code = 0;
        for &b in hex {
            let digit = (b as char).to_digit(16);
            code = code * 16 + digit.ok_or_else(|| self.error("malformed \\u escape"))?;
        }
        if hex.len() < 4 {
            return Err(self.error("malformed \\u escape"));
        }
        self.at += 4;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same value as `serde_json` has it (a repeated key: the last).
    fn serde(value: Value) -> serde_json::Value {
        match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(flag) => flag.into(),
            Value::Unsigned(n) => n.into(),
            Value::Negative(n) => n.into(),
            Value::Float(n) => n.into(),
            Value::String(text) => text.into(),
            Value::Array(list) => list.into_iter().map(serde).collect(),
            Value::Object(pairs) => {
                let mut map = serde_json::Map::new();
                for (key, value) in pairs {
                    map.insert(key, serde(value));
                }
                map.into()
            }
        }
    }

    /// Agrees with `serde_json` on what is JSON and what it means.
    #[test]
    fn reads_what_serde_json_reads() {
        let valid = [
            r#"{"version": "ab", "config": {"routers": [{"original": 0, "port": 8728,
                "timeout": 2.5, "password": null, "interfaces": [{"name": "ether1"}]}],
                "web": {"enabled": true, "settings": false, "allow": ["10.0.0.0/8"]}}}"#,
            " [ ] ",
            "{}",
            "0",
            "-0",
            "-12",
            "18446744073709551615",
            "-9223372036854775808",
            "18446744073709551616",
            "1.5e3",
            "1E-2",
            "-0.0",
            r#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é""#,
            r#"{"a": 1, "a": 2}"#,
            "[1,[2,[3,[]]]]",
        ];
        for text in valid {
            let expected: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text.as_bytes()).map(serde), Ok(expected), "{text}");
        }
        let invalid = [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "-",
            "tru",
            "nul",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u+123\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\u{1}b\"",
            "1e999",
            "[1] 2",
            "NaN",
            "{\"a\" 1}",
            "[1 2]",
        ];
        for text in invalid {
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err(),
                "{text:?}"
            );
            assert!(parse(text.as_bytes()).is_err(), "{text:?}");
        }
        assert!(parse(b"\"\xff\"").is_err(), "not UTF-8");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n| "[".repeat(n) + &"]".repeat(n);
        assert!(parse(deep(MAX_DEPTH + 1).as_bytes()).is_ok());
        assert!(parse(deep(MAX_DEPTH + 2).as_bytes()).is_err());
        assert!(parse("[".repeat(64 << 10).as_bytes()).is_err());
    }
}
