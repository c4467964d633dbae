//! The RouterOS API wire codec: length prefixes, words, sentences, commands
//! and replies.
//!
//! A word is a length prefix (one to five bytes) and that many raw bytes; a
//! sentence is a list of words ended by the zero-length word `00`. Commands
//! (client to router) and replies (router to client) are sentences whose
//! first word says what they are. See `docs/routeros-api.md` for the
//! protocol and its sources.
//!
//! This module does no I/O and reads no clock. Every byte sequence fed to a
//! [`Decoder`] ends in sentences or an [`Error`], never a panic, and the
//! decoder never holds more than its [`Limits`] allow for one sentence. Words
//! stay raw bytes throughout: RouterOS stores text without a declared
//! charset (WinBox writes the Windows code page), so text is decoded lossily
//! only where it is shown to a person.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;

/// The most bytes a length prefix can take.
pub const MAX_PREFIX_LEN: usize = 5;

/// Upper bounds the decoder enforces before it buffers anything.
///
/// A hostile or broken peer can announce a word of up to 4 GiB in five
/// bytes; the decoder refuses any word, sentence or word count above these
/// limits with an [`Error`] instead of allocating for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest single word, in bytes.
    pub max_word: u64,
    /// Largest sentence, summing the bytes of its words.
    pub max_sentence: u64,
    /// Most words in one sentence.
    pub max_words: usize,
}

impl Limits {
    /// Generous for anything a router sends to a monitor (an interface row
    /// with every property is about 2 KiB), small enough for a Pi.
    pub const DEFAULT: Limits = Limits {
        max_word: 1 << 20,
        max_sentence: 4 << 20,
        max_words: 4096,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// A protocol violation found in the bytes or the words of a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A length prefix began with a reserved control byte (0xF8 to 0xFF).
    ReservedControlByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the stream, counting from the first byte fed.
        offset: u64,
    },
    /// A length prefix announced a word above [`Limits::max_word`].
    WordTooLong {
        /// The prefix bytes as received.
        prefix: Vec<u8>,
        /// The announced length.
        length: u64,
        /// The limit in force.
        limit: u64,
        /// Offset of the prefix in the stream.
        offset: u64,
    },
    /// A sentence grew above [`Limits::max_sentence`] bytes.
    SentenceTooLong {
        /// The limit in force.
        limit: u64,
        /// Offset of the word that crossed it.
        offset: u64,
    },
    /// A sentence had more than [`Limits::max_words`] words.
    TooManyWords {
        /// The limit in force.
        limit: usize,
        /// Offset of the word that crossed it.
        offset: u64,
    },
    /// A reply sentence whose first word does not start with `!`, or a
    /// command whose first word does not start with `/`.
    BadFirstWord {
        /// The word as received.
        word: Vec<u8>,
    },
    /// A word that has no place in this kind of sentence (for example a bare
    /// word in an `!re`, or a query word in a reply).
    UnexpectedWord {
        /// The first word of the sentence.
        sentence: Vec<u8>,
        /// The word as received.
        word: Vec<u8>,
    },
    /// An attribute whose value does not have the expected form.
    BadValue {
        /// The attribute name.
        name: String,
        /// The value as received.
        value: Vec<u8>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReservedControlByte { byte, offset } => write!(
                f,
                "reserved control byte 0x{byte:02x} where a word length was expected (stream byte {offset})"
            ),
            Error::WordTooLong {
                prefix,
                length,
                limit,
                offset,
            } => write!(
                f,
                "word length prefix [{}] announces {length} bytes, over the limit of {limit} (stream byte {offset})",
                hex(prefix)
            ),
            Error::SentenceTooLong { limit, offset } => write!(
                f,
                "sentence longer than {limit} bytes (stream byte {offset})"
            ),
            Error::TooManyWords { limit, offset } => write!(
                f,
                "sentence with more than {limit} words (stream byte {offset})"
            ),
            Error::BadFirstWord { word } => {
                write!(f, "sentence starts with unexpected word {}", quote(word))
            }
            Error::UnexpectedWord { sentence, word } => write!(
                f,
                "unexpected word {} in {} sentence",
                quote(word),
                quote(sentence)
            ),
            Error::BadValue { name, value } => {
                write!(f, "attribute {name} has an invalid value {}", quote(value))
            }
        }
    }
}

impl std::error::Error for Error {}

/// Appends the length prefix for a word of `len` bytes to `out`.
///
/// Uses the shortest of the five forms: one byte up to 0x7F, two up to
/// 0x3FFF, three up to 0x1F_FFFF, four up to 0xFFF_FFFF, else 0xF0 and four
/// bytes.
pub fn encode_length(len: u32, out: &mut Vec<u8>) {
    let b = len.to_be_bytes();
    match len {
        0..=0x7F => out.push(b[3]),
        0x80..=0x3FFF => out.extend_from_slice(&[b[2] | 0x80, b[3]]),
        0x4000..=0x1F_FFFF => out.extend_from_slice(&[b[1] | 0xC0, b[2], b[3]]),
        0x20_0000..=0xFFF_FFFF => out.extend_from_slice(&[b[0] | 0xE0, b[1], b[2], b[3]]),
        _ => out.extend_from_slice(&[0xF0, b[0], b[1], b[2], b[3]]),
    }
}

/// Reads a length prefix from the start of `bytes`.
///
/// Returns `Ok(None)` when `bytes` holds only part of the prefix, otherwise
/// the announced length and the number of prefix bytes. A first byte of
/// 0xF8 or above is a reserved control byte and an error (its `offset` is
/// 0). The five-byte form's first byte may carry three more high bits
/// (0xF1 to 0xF7); they are kept, so such a length is above 4 GiB.
pub fn decode_length(bytes: &[u8]) -> Result<Option<(u64, usize)>, Error> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    let size = prefix_size(first, 0)?;
    match bytes.get(..size) {
        Some(prefix) => Ok(Some((prefix_value(prefix), size))),
        None => Ok(None),
    }
}

/// How many bytes a prefix starting with `first` takes.
fn prefix_size(first: u8, offset: u64) -> Result<usize, Error> {
    match first {
        0x00..=0x7F => Ok(1),
        0x80..=0xBF => Ok(2),
        0xC0..=0xDF => Ok(3),
        0xE0..=0xEF => Ok(4),
        0xF0..=0xF7 => Ok(5),
        0xF8..=0xFF => Err(Error::ReservedControlByte {
            byte: first,
            offset,
        }),
    }
}

/// The length a complete prefix (as sized by `prefix_size`) announces.
fn prefix_value(prefix: &[u8]) -> u64 {
    let mask: u8 = match prefix.len() {
        1 => 0x7F,
        2 => 0x3F,
        3 => 0x1F,
        4 => 0x0F,
        _ => 0x07,
    };
    prefix[1..]
        .iter()
        .fold(u64::from(prefix[0] & mask), |acc, &b| {
            (acc << 8) | u64::from(b)
        })
}

/// Appends one length-prefixed word to `out`.
///
/// # Panics
///
/// If `word` is 4 GiB or longer, which the protocol cannot express.
pub fn encode_word(word: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(word.len()).expect("a RouterOS word is shorter than 4 GiB");
    encode_length(len, out);
    out.extend_from_slice(word);
}

/// A list of raw words, as it travels between client and router.
///
/// The terminating zero-length word is not stored: it is added by
/// [`Sentence::encode`] and removed by the [`Decoder`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sentence {
    /// The words in wire order.
    pub words: Vec<Vec<u8>>,
}

impl Sentence {
    /// A sentence of the given words.
    pub fn new<W: AsRef<[u8]>>(words: &[W]) -> Sentence {
        Sentence {
            words: words.iter().map(|w| w.as_ref().to_vec()).collect(),
        }
    }

    /// Appends the encoded sentence, with its terminating `00`, to `out`.
    ///
    /// # Panics
    ///
    /// If a word is 4 GiB or longer (see [`encode_word`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for word in &self.words {
            encode_word(word, out);
        }
        out.push(0);
    }

    /// The encoded sentence as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl fmt::Display for Sentence {
    /// Shows the words as a list of quoted strings, non-UTF-8 bytes replaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&quote(word))?;
        }
        f.write_str("]")
    }
}

/// An incremental decoder from a byte stream to sentences.
///
/// Feed it bytes as they arrive, split anywhere (even inside a length
/// prefix), then take the finished sentences with [`Decoder::next`].
/// Empty sentences (a lone `00`) are skipped, as RouterOS does. The first
/// protocol error is sticky: the stream cannot be resynchronised after it,
/// so every later call to [`Decoder::next`] returns it again once the
/// sentences decoded before it have been taken.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    /// Bytes of the length prefix being read.
    prefix: [u8; MAX_PREFIX_LEN],
    prefix_len: usize,
    /// The word being read and how many bytes it still lacks.
    word: Vec<u8>,
    word_missing: u64,
    /// Words of the sentence being read and their total size.
    words: Vec<Vec<u8>>,
    sentence_bytes: u64,
    ready: VecDeque<Sentence>,
    error: Option<Error>,
    /// Bytes consumed so far, for error messages.
    offset: u64,
}

impl Decoder {
    /// A decoder with [`Limits::DEFAULT`].
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder with other limits.
    pub fn with_limits(limits: Limits) -> Decoder {
        Decoder {
            limits,
            ..Decoder::default()
        }
    }

    /// Consumes `input`. Complete sentences queue up for [`Decoder::next`].
    ///
    /// After a protocol error the rest of the input is ignored.
    pub fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() && self.error.is_none() {
            if self.word_missing > 0 {
                let take = usize::try_from(self.word_missing)
                    .map_or(input.len(), |missing| missing.min(input.len()));
                self.word.extend_from_slice(&input[..take]);
                input = &input[take..];
                self.offset += take as u64;
                self.word_missing -= take as u64;
                if self.word_missing == 0 {
                    self.words.push(std::mem::take(&mut self.word));
                }
                continue;
            }
            self.prefix[self.prefix_len] = input[0];
            self.prefix_len += 1;
            input = &input[1..];
            self.offset += 1;
            let prefix_offset = self.offset - self.prefix_len as u64;
            let size = match prefix_size(self.prefix[0], prefix_offset) {
                Ok(size) => size,
                Err(error) => {
                    self.error = Some(error);
                    break;
                }
            };
            if self.prefix_len < size {
                continue;
            }
            self.prefix_len = 0;
            let length = prefix_value(&self.prefix[..size]);
            if length == 0 {
                let words = std::mem::take(&mut self.words);
                self.sentence_bytes = 0;
                if !words.is_empty() {
                    self.ready.push_back(Sentence { words });
                }
                continue;
            }
            if let Err(error) = self.check_word(length, size, prefix_offset) {
                self.error = Some(error);
                break;
            }
            self.sentence_bytes += length;
            self.word_missing = length;
        }
    }

    fn check_word(&self, length: u64, size: usize, offset: u64) -> Result<(), Error> {
        if length > self.limits.max_word {
            return Err(Error::WordTooLong {
                prefix: self.prefix[..size].to_vec(),
                length,
                limit: self.limits.max_word,
                offset,
            });
        }
        if self.sentence_bytes + length > self.limits.max_sentence {
            return Err(Error::SentenceTooLong {
                limit: self.limits.max_sentence,
                offset,
            });
        }
        if self.words.len() >= self.limits.max_words {
            return Err(Error::TooManyWords {
                limit: self.limits.max_words,
                offset,
            });
        }
        Ok(())
    }

    /// The next complete sentence, `Ok(None)` when more bytes are needed, or
    /// the protocol error once every sentence before it has been taken.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Sentence>, Error> {
        if let Some(sentence) = self.ready.pop_front() {
            return Ok(Some(sentence));
        }
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(None),
        }
    }

    /// Whether the decoder holds part of a sentence (bytes fed that do not
    /// yet make a complete sentence). A stream that ends here was cut off.
    pub fn in_sentence(&self) -> bool {
        self.prefix_len > 0 || self.word_missing > 0 || !self.words.is_empty()
    }

    /// How many bytes have been consumed since the decoder was made.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// Named attributes in wire order, names and values as raw bytes.
///
/// Lookups return the first attribute of that name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs(pub Vec<(Vec<u8>, Vec<u8>)>);

impl Attrs {
    /// The raw value of the first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The value of `name` as text, invalid UTF-8 replaced.
    pub fn get_lossy(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(String::from_utf8_lossy)
    }

    /// Appends an attribute.
    pub fn push(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// One word of a sentence, classified by its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word<'a> {
    /// `=name=value`; `=name` (no second `=`) has an empty value.
    Attr(&'a [u8], &'a [u8]),
    /// `.tag=value`.
    Tag(&'a [u8]),
    /// Any other `.name=value` API attribute.
    ApiAttr(&'a [u8], &'a [u8]),
    /// `?…`, without the `?`.
    Query(&'a [u8]),
    /// Anything else.
    Bare(&'a [u8]),
}

fn classify(word: &[u8]) -> Word<'_> {
    match word.first() {
        Some(b'=') => {
            let rest = &word[1..];
            match rest.iter().position(|&b| b == b'=') {
                Some(i) => Word::Attr(&rest[..i], &rest[i + 1..]),
                None => Word::Attr(rest, &[]),
            }
        }
        Some(b'.') => {
            let rest = &word[1..];
            let (name, value) = match rest.iter().position(|&b| b == b'=') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            if name == b"tag" {
                Word::Tag(value)
            } else {
                Word::ApiAttr(&word[..1 + name.len()], value)
            }
        }
        Some(b'?') => Word::Query(&word[1..]),
        _ => Word::Bare(word),
    }
}

/// A client-to-router sentence: a command path, attributes, queries, a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// The command word, e.g. `/interface/print`.
    pub path: Vec<u8>,
    /// `=name=value` words (and API attributes other than `.tag`, whose
    /// names keep their leading dot).
    pub attrs: Attrs,
    /// Query words without their leading `?`, in order (order matters).
    pub queries: Vec<Vec<u8>>,
    /// The `.tag` value, if the command had a non-empty one.
    pub tag: Option<Vec<u8>>,
}

impl Command {
    /// A command with no attributes.
    pub fn new(path: &str) -> Command {
        Command {
            path: path.as_bytes().to_vec(),
            ..Command::default()
        }
    }

    /// Adds `=name=value`.
    pub fn attr(mut self, name: &str, value: impl AsRef<[u8]>) -> Command {
        self.attrs.push(name, value.as_ref());
        self
    }

    /// Adds a query word (`query` without its `?`).
    pub fn query(mut self, query: impl AsRef<[u8]>) -> Command {
        self.queries.push(query.as_ref().to_vec());
        self
    }

    /// Sets the tag.
    pub fn tag(mut self, tag: impl AsRef<[u8]>) -> Command {
        self.tag = Some(tag.as_ref().to_vec());
        self
    }

    /// Reads a command from a sentence received by a router.
    pub fn parse(sentence: &Sentence) -> Result<Command, Error> {
        let (first, rest) = split_first(sentence);
        if !first.starts_with(b"/") {
            return Err(Error::BadFirstWord {
                word: first.to_vec(),
            });
        }
        let mut command = Command {
            path: first.to_vec(),
            ..Command::default()
        };
        for word in rest {
            match classify(word) {
                Word::Attr(name, value) | Word::ApiAttr(name, value) => {
                    command.attrs.push(name, value)
                }
                Word::Tag(tag) => command.tag = non_empty(tag),
                Word::Query(query) => command.queries.push(query.to_vec()),
                Word::Bare(_) => {
                    return Err(Error::UnexpectedWord {
                        sentence: first.to_vec(),
                        word: word.clone(),
                    });
                }
            }
        }
        Ok(command)
    }

    /// The command as a sentence: path, attributes, queries, then `.tag`.
    pub fn to_sentence(&self) -> Sentence {
        let mut words = Vec::new();
        self.each_word(self.tag.as_deref(), |parts| words.push(parts.concat()));
        Sentence { words }
    }

    /// Appends the command, tagged `tag` whatever its own tag, encoded as
    /// [`Command::to_sentence`] and [`Sentence::encode`] would write it,
    /// without building the words: a client that sends the same command
    /// again and again allocates nothing for it.
    ///
    /// # Panics
    ///
    /// If a word is 4 GiB or longer (see [`encode_word`]).
    pub fn encode_tagged(&self, tag: &[u8], out: &mut Vec<u8>) {
        self.each_word(Some(tag), |parts| {
            let len = parts.iter().map(|part| part.len()).sum::<usize>();
            let len = u32::try_from(len).expect("a RouterOS word is shorter than 4 GiB");
            encode_length(len, out);
            for part in parts {
                out.extend_from_slice(part);
            }
        });
        out.push(0);
    }

    /// Calls `each` with the parts of each word in wire order: path,
    /// attributes, queries, then `.tag=tag` if given.
    fn each_word(&self, tag: Option<&[u8]>, mut each: impl FnMut(&[&[u8]])) {
        each(&[&self.path]);
        for (name, value) in &self.attrs.0 {
            each(&[b"=", name, b"=", value]);
        }
        for query in &self.queries {
            each(&[b"?", query]);
        }
        if let Some(tag) = tag {
            each(&[b".tag=", tag]);
        }
    }
}

/// A router-to-client sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The `.tag` of the command this answers, when it had a non-empty one.
    pub tag: Option<Vec<u8>>,
    /// What the reply says.
    pub kind: ReplyKind,
}

/// The kinds of reply sentence, with what each carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// `!re`: one data row (possibly with no attributes).
    Re(Attrs),
    /// `!done`: the last reply to a command, sometimes with `=ret=`.
    Done(Attrs),
    /// `!trap`: an error; a `!done` still follows.
    Trap(Trap),
    /// `!empty` (RouterOS 7.18+): the command has no data; `!done` follows.
    Empty(Attrs),
    /// `!fatal` and its reason (a bare word); the router closes the
    /// connection after it.
    Fatal(Vec<u8>),
    /// A reply word this codec does not know, kept for the caller to log.
    Unknown {
        /// The first word, e.g. `!new`.
        word: Vec<u8>,
        /// Its attributes.
        attrs: Attrs,
    },
}

/// What a `!trap` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trap {
    /// `=category=` (0 to 7 are documented), when present.
    pub category: Option<u32>,
    /// `=message=`, empty when absent.
    pub message: Vec<u8>,
}

impl Reply {
    /// Reads a reply from a sentence received by a client.
    ///
    /// `.tag` may stand anywhere. Words after `!fatal` that are not
    /// attributes are its reason, joined by spaces; a `=message=` there is
    /// taken too. Elsewhere a bare word or a query word is an error.
    pub fn parse(sentence: &Sentence) -> Result<Reply, Error> {
        let (first, rest) = split_first(sentence);
        if !first.starts_with(b"!") {
            return Err(Error::BadFirstWord {
                word: first.to_vec(),
            });
        }
        let mut tag = None;
        let mut attrs = Attrs::default();
        let mut bare: Vec<&[u8]> = Vec::new();
        for word in rest {
            match classify(word) {
                Word::Attr(name, value) | Word::ApiAttr(name, value) => attrs.push(name, value),
                Word::Tag(value) => tag = non_empty(value),
                Word::Bare(bare_word) if first == b"!fatal" => bare.push(bare_word),
                Word::Bare(_) | Word::Query(_) => {
                    return Err(Error::UnexpectedWord {
                        sentence: first.to_vec(),
                        word: word.clone(),
                    });
                }
            }
        }
        let kind = match first {
            b"!re" => ReplyKind::Re(attrs),
            b"!done" => ReplyKind::Done(attrs),
            b"!empty" => ReplyKind::Empty(attrs),
            b"!trap" => ReplyKind::Trap(Trap {
                category: match attrs.get("category") {
                    None => None,
                    Some(value) => Some(parse_decimal(value).ok_or_else(|| Error::BadValue {
                        name: "category".into(),
                        value: value.to_vec(),
                    })?),
                },
                message: attrs.get("message").unwrap_or_default().to_vec(),
            }),
            b"!fatal" => {
                if let Some(message) = attrs.get("message") {
                    bare.push(message);
                }
                ReplyKind::Fatal(bare.join(&b' '))
            }
            _ => ReplyKind::Unknown {
                word: first.to_vec(),
                attrs,
            },
        };
        Ok(Reply { tag, kind })
    }

    /// The reply as a sentence, `.tag` right after the reply word as real
    /// routers send it. A trap's category and message come first.
    pub fn to_sentence(&self) -> Sentence {
        let (word, attrs): (&[u8], Cow<'_, Attrs>) = match &self.kind {
            ReplyKind::Re(attrs) => (b"!re", Cow::Borrowed(attrs)),
            ReplyKind::Done(attrs) => (b"!done", Cow::Borrowed(attrs)),
            ReplyKind::Empty(attrs) => (b"!empty", Cow::Borrowed(attrs)),
            ReplyKind::Trap(trap) => {
                let mut attrs = Attrs::default();
                if let Some(category) = trap.category {
                    attrs.push("category", category.to_string());
                }
                attrs.push("message", trap.message.clone());
                (b"!trap", Cow::Owned(attrs))
            }
            ReplyKind::Fatal(reason) => {
                return Sentence {
                    words: vec![b"!fatal".to_vec(), reason.clone()],
                };
            }
            ReplyKind::Unknown { word, attrs } => (word, Cow::Borrowed(attrs)),
        };
        let mut words = vec![word.to_vec()];
        if let Some(tag) = &self.tag {
            words.push([b".tag=", tag.as_slice()].concat());
        }
        for (name, value) in &attrs.0 {
            words.push(attr_word(name, value));
        }
        Sentence { words }
    }
}

/// The first word and the rest; a decoded sentence always has a first word,
/// but a hand-built one may not.
fn split_first(sentence: &Sentence) -> (&[u8], &[Vec<u8>]) {
    match sentence.words.split_first() {
        Some((first, rest)) => (first, rest),
        None => (&[], &[]),
    }
}

fn non_empty(value: &[u8]) -> Option<Vec<u8>> {
    (!value.is_empty()).then(|| value.to_vec())
}

/// `=name=value`, or `.name=value` for names that start with a dot and are
/// API attributes (only `.tag` is written that way by this codec).
fn attr_word(name: &[u8], value: &[u8]) -> Vec<u8> {
    [b"=", name, b"=", value].concat()
}

/// Parses an unsigned decimal number (ASCII digits only: no sign, no
/// spaces), as RouterOS writes counters and categories; `None` when it is
/// not one or does not fit `T`.
pub fn parse_decimal<T: TryFrom<u64>>(bytes: &[u8]) -> Option<T> {
    if bytes.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    T::try_from(value).ok()
}

/// Bytes as lowercase hex pairs separated by spaces.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A word shown to a person: lossy UTF-8, quoted and escaped.
pub fn quote(word: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(word))
}

#[cfg(test)]
mod tests;
