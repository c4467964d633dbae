//! Tests of the wire codec: the shared byte vectors, length boundaries,
//! limits, reply and command parsing, and property tests over random bytes.

use std::path::Path;

use proptest::prelude::*;

use super::*;

/// One `.hex` file of `tests/data/routeros/` (copied from the shared vectors).
struct Vector {
    name: String,
    headers: Vec<(String, String)>,
    /// Words of each sentence, from the `# sentence N: [...]` comments.
    sentences: Vec<Vec<Vec<u8>>>,
    bytes: Vec<u8>,
}

impl Vector {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn load_vectors() -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/routeros");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let mut vector = Vector {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                headers: Vec::new(),
                sentences: Vec::new(),
                bytes: Vec::new(),
            };
            let mut hex_text = String::new();
            for line in text.lines() {
                let Some(comment) = line.strip_prefix('#') else {
                    hex_text.push_str(line);
                    continue;
                };
                let comment = comment.trim();
                if let Some(rest) = comment.strip_prefix("sentence ") {
                    let json = &rest[rest.find(':').unwrap() + 1..];
                    let words: Vec<String> = serde_json::from_str(json.trim()).unwrap();
                    vector.sentences.push(
                        words
                            .iter()
                            .map(|w| match w.strip_prefix("hex:") {
                                Some(h) => unhex(h),
                                None => w.as_bytes().to_vec(),
                            })
                            .collect(),
                    );
                } else if let Some((key, value)) = comment.split_once(": ") {
                    vector.headers.push((key.to_string(), value.to_string()));
                }
            }
            vector.bytes = unhex(&hex_text);
            vector
        })
        .collect()
}

/// Feeds `chunks` in order and takes every sentence, stopping at an error.
fn decode_chunks(decoder: &mut Decoder, chunks: &[&[u8]]) -> Result<Vec<Sentence>, Error> {
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk);
        while let Some(sentence) = decoder.next()? {
            out.push(sentence);
        }
    }
    Ok(out)
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Sentence>, Error> {
    decode_chunks(&mut Decoder::new(), &[bytes])
}

fn check_stream(vector: &Vector) {
    let expected: Vec<Sentence> = vector
        .sentences
        .iter()
        .map(|words| Sentence {
            words: words.clone(),
        })
        .collect();
    assert!(
        !expected.is_empty(),
        "{}: no sentence comments",
        vector.name
    );
    assert_eq!(
        decode_all(&vector.bytes).unwrap(),
        expected,
        "{}: decoded words",
        vector.name
    );
    let reencoded: Vec<u8> = expected.iter().flat_map(Sentence::to_bytes).collect();
    assert_eq!(reencoded, vector.bytes, "{}: re-encoded bytes", vector.name);

    for split in 0..=vector.bytes.len() {
        let (a, b) = vector.bytes.split_at(split);
        let mut decoder = Decoder::new();
        assert_eq!(
            decode_chunks(&mut decoder, &[a, b]).unwrap(),
            expected,
            "{}: split at byte {split}",
            vector.name
        );
        assert!(!decoder.in_sentence());
    }
    let single_bytes: Vec<&[u8]> = vector.bytes.chunks(1).collect();
    assert_eq!(
        decode_chunks(&mut Decoder::new(), &single_bytes).unwrap(),
        expected,
        "{}: one byte at a time",
        vector.name
    );

    for sentence in &expected {
        match vector.header("direction") {
            Some("router-to-client") => {
                let reply = Reply::parse(sentence)
                    .unwrap_or_else(|e| panic!("{}: {sentence}: {e}", vector.name));
                let again = Reply::parse(&reply.to_sentence()).unwrap();
                assert_eq!(again, reply, "{}: reply round trip", vector.name);
            }
            Some("client-to-router") => {
                let command = Command::parse(sentence)
                    .unwrap_or_else(|e| panic!("{}: {sentence}: {e}", vector.name));
                // `=once` comes back as `=once=`: the same empty value.
                let again = Command::parse(&command.to_sentence()).unwrap();
                assert_eq!(again, command, "{}: command round trip", vector.name);
                // Encoded straight, with another tag: the same bytes as
                // the sentence with that tag.
                let mut encoded = Vec::new();
                command.encode_tagged(b"77", &mut encoded);
                let tagged = command.clone().tag("77").to_sentence().to_bytes();
                assert_eq!(encoded, tagged, "{}: encoded with a tag", vector.name);
            }
            other => panic!("{}: direction {other:?}", vector.name),
        }
    }
}

#[test]
fn every_shared_vector() {
    let vectors = load_vectors();
    let files =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/routeros"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "hex")
            })
            .count();
    assert_eq!(vectors.len(), files);
    assert_eq!(vectors.len(), 66, "the shared set has 66 vectors");
    let mut kinds = std::collections::BTreeMap::new();
    for vector in &vectors {
        let kind = vector.header("kind").unwrap_or_default().to_string();
        match kind.as_str() {
            "length" => {
                let value: u64 = vector.header("value").unwrap().parse().unwrap();
                assert_eq!(
                    decode_length(&vector.bytes).unwrap(),
                    Some((value, vector.bytes.len())),
                    "{}",
                    vector.name
                );
                let mut encoded = Vec::new();
                encode_length(u32::try_from(value).unwrap(), &mut encoded);
                assert_eq!(encoded, vector.bytes, "{}", vector.name);
                // The prefix alone leaves the decoder waiting for the word, or
                // refuses it at once when it is over the default limit.
                let mut decoder = Decoder::new();
                decoder.feed(&vector.bytes);
                if value > Limits::DEFAULT.max_word {
                    assert!(
                        matches!(decoder.next(), Err(Error::WordTooLong { length, .. }) if length == value)
                    );
                } else {
                    assert_eq!(decoder.next(), Ok(None));
                    assert_eq!(decoder.in_sentence(), value > 0, "{}", vector.name);
                }
            }
            "length-invalid" => {
                assert_eq!(vector.header("expect"), Some("error"));
                let byte = vector.bytes[0];
                assert_eq!(
                    decode_length(&vector.bytes),
                    Err(Error::ReservedControlByte { byte, offset: 0 })
                );
                let mut decoder = Decoder::new();
                decoder.feed(&vector.bytes);
                assert_eq!(
                    decoder.next(),
                    Err(Error::ReservedControlByte { byte, offset: 0 })
                );
            }
            "word" => {
                let (length, size) = decode_length(&vector.bytes).unwrap().unwrap();
                let word = &vector.bytes[size..];
                assert_eq!(word.len() as u64, length, "{}", vector.name);
                let expected: Vec<u8> = match vector.header("word-length") {
                    Some(n) => vec![b'A'; n.parse().unwrap()],
                    None => "łą".as_bytes().to_vec(),
                };
                assert_eq!(word, expected, "{}", vector.name);
                let mut encoded = Vec::new();
                encode_word(&expected, &mut encoded);
                assert_eq!(encoded, vector.bytes, "{}", vector.name);
            }
            "stream" => check_stream(vector),
            other => panic!("{}: unknown kind {other:?}", vector.name),
        }
        *kinds.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(kinds["length"], 20);
    assert_eq!(kinds["length-invalid"], 8);
    assert_eq!(kinds["word"], 2);
    assert_eq!(kinds["stream"], 36);
}

fn vector(name: &str) -> Vec<Reply> {
    let vector = load_vectors().into_iter().find(|v| v.name == name).unwrap();
    decode_all(&vector.bytes)
        .unwrap()
        .iter()
        .map(|s| Reply::parse(s).unwrap())
        .collect()
}

#[test]
fn vector_meanings() {
    let fatal = vector("fatal-reply-quit");
    assert_eq!(
        fatal,
        [Reply {
            tag: None,
            kind: ReplyKind::Fatal(b"session terminated on request".to_vec())
        }]
    );

    let cancel = vector("cancel-replies-listen-real");
    assert_eq!(cancel[0].tag.as_deref(), Some(&b"10"[..]));
    assert_eq!(
        cancel[0].kind,
        ReplyKind::Trap(Trap {
            category: Some(2),
            message: b"interrupted".to_vec()
        })
    );
    assert_eq!(cancel[1].tag.as_deref(), Some(&b"20"[..]));

    let untagged = vector("cancel-replies-untagged-cancel-real");
    assert_eq!(
        untagged[1],
        Reply {
            tag: None,
            kind: ReplyKind::Done(Attrs::default())
        }
    );

    let empty = vector("empty-reply-tagged");
    assert_eq!(empty[0].kind, ReplyKind::Empty(Attrs::default()));
    assert_eq!(empty[0].tag.as_deref(), Some(&b"5"[..]));

    let non_utf8 = vector("reply-non-utf8-comment");
    let ReplyKind::Re(attrs) = &non_utf8[0].kind else {
        panic!("not an !re")
    };
    assert_eq!(attrs.get("comment"), Some(&[0xa3, 0xf3, 0x64, 0x9f][..]));
    assert_eq!(
        attrs.get_lossy("comment").unwrap(),
        "\u{fffd}\u{fffd}d\u{fffd}"
    );

    let traps = vector("trap-unknown-command");
    assert_eq!(
        traps[1].kind,
        ReplyKind::Trap(Trap {
            category: None,
            message: b"no such command prefix".to_vec()
        })
    );

    let ros7 = vector("monitor-traffic-reply-ros7");
    let ReplyKind::Re(attrs) = &ros7[0].kind else {
        panic!("not an !re")
    };
    assert_eq!(attrs.get("rx-bits-per-second"), Some(&b"45096"[..]));
    assert_eq!(attrs.get(".section"), Some(&b"0"[..]));

    let bare = vector("print-empty-re-sentences");
    assert_eq!(bare.len(), 8);
    assert!(
        bare[..7]
            .iter()
            .all(|r| r.kind == ReplyKind::Re(Attrs::default()))
    );

    let ret = vector("add-reply-ret");
    assert_eq!(
        ret[0].kind,
        ReplyKind::Done(Attrs(vec![(b"ret".to_vec(), b"*3".to_vec())]))
    );
}

#[test]
fn command_words() {
    let once_forms = [
        "monitor-traffic-request-once-yes",
        "monitor-traffic-request-once-bare-tagged",
        "monitor-traffic-request-once-empty",
    ];
    for name in once_forms {
        let vector = load_vectors().into_iter().find(|v| v.name == name).unwrap();
        let command = Command::parse(&decode_all(&vector.bytes).unwrap()[0]).unwrap();
        assert_eq!(command.path, b"/interface/monitor-traffic");
        assert_eq!(
            command.attrs.get("interface"),
            Some(&b"ether1"[..]),
            "{name}"
        );
        assert!(command.attrs.get("once").is_some(), "{name}");
    }
    let sentence = Sentence::new(&["/x", "=name=iu=c3Eeg", "?#|", ".tag=", "=.proplist=a,b"]);
    let command = Command::parse(&sentence).unwrap();
    assert_eq!(command.attrs.get("name"), Some(&b"iu=c3Eeg"[..]));
    assert_eq!(command.attrs.get(".proplist"), Some(&b"a,b"[..]));
    assert_eq!(command.queries, [b"#|".to_vec()]);
    assert_eq!(command.tag, None, "an empty tag is no tag");
    assert!(matches!(
        Command::parse(&Sentence::new(&["!re"])),
        Err(Error::BadFirstWord { .. })
    ));
    assert!(matches!(
        Command::parse(&Sentence::new(&["/x", "bare"])),
        Err(Error::UnexpectedWord { .. })
    ));
}

#[test]
fn reply_words() {
    let reply = Reply::parse(&Sentence::new(&["!re", "=a=b=c", ".tag=7", "=once"])).unwrap();
    assert_eq!(reply.tag.as_deref(), Some(&b"7"[..]));
    assert_eq!(
        reply.kind,
        ReplyKind::Re(Attrs(vec![
            (b"a".to_vec(), b"b=c".to_vec()),
            (b"once".to_vec(), Vec::new())
        ]))
    );
    assert!(matches!(
        Reply::parse(&Sentence::new(&["!re", "stray"])),
        Err(Error::UnexpectedWord { .. })
    ));
    assert!(matches!(
        Reply::parse(&Sentence::new(&["/login"])),
        Err(Error::BadFirstWord { .. })
    ));
    assert!(matches!(
        Reply::parse(&Sentence::new(&["!trap", "=category=x", "=message=m"])),
        Err(Error::BadValue { .. })
    ));
    assert_eq!(
        Reply::parse(&Sentence::new(&["!fatal", "=message=gone"]))
            .unwrap()
            .kind,
        ReplyKind::Fatal(b"gone".to_vec())
    );
    let unknown = Reply::parse(&Sentence::new(&["!new", "=x=1"])).unwrap();
    assert!(matches!(unknown.kind, ReplyKind::Unknown { ref word, .. } if word == b"!new"));
}

#[test]
fn length_boundaries_round_trip_as_whole_words() {
    let cases: [(u32, usize); 10] = [
        (0, 1),
        (0x7F, 1),
        (0x80, 2),
        (0x3FFF, 2),
        (0x4000, 3),
        (0x1F_FFFF, 3),
        (0x20_0000, 4),
        (0xFFF_FFFF, 4),
        (0x1000_0000, 5),
        (u32::MAX, 5),
    ];
    for (length, prefix_bytes) in cases {
        let mut prefix = Vec::new();
        encode_length(length, &mut prefix);
        assert_eq!(prefix.len(), prefix_bytes, "{length:#x}");
        assert_eq!(
            decode_length(&prefix).unwrap(),
            Some((u64::from(length), prefix_bytes))
        );
        for cut in 0..prefix.len() {
            assert_eq!(decode_length(&prefix[..cut]).unwrap(), None);
        }
    }
    let big = Limits {
        max_word: 0x1000_0000,
        max_sentence: 0x2000_0000,
        max_words: 4,
    };
    for (length, _) in &cases[..9] {
        let word = vec![b'x'; *length as usize];
        let sentence = Sentence {
            words: vec![b"!re".to_vec(), word],
        };
        let bytes = sentence.to_bytes();
        let mut decoder = Decoder::with_limits(big);
        // Split inside the prefix of the long word.
        let split = 5;
        let decoded = decode_chunks(&mut decoder, &[&bytes[..split], &bytes[split..]]).unwrap();
        let expected = if *length == 0 {
            // A zero-length word ends the sentence: only "!re" remains.
            vec![Sentence::new(&["!re"])]
        } else {
            vec![sentence]
        };
        assert!(decoded == expected, "word of {length:#x} bytes");
    }
}

#[test]
fn hostile_lengths_are_refused_before_buffering() {
    let mut decoder = Decoder::new();
    decoder.feed(&[0xF0, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        decoder.next(),
        Err(Error::WordTooLong {
            prefix: vec![0xF0, 0xFF, 0xFF, 0xFF, 0xFF],
            length: 0xFFFF_FFFF,
            limit: Limits::DEFAULT.max_word,
            offset: 0
        })
    );
    // The three spare bits of the five-byte form give lengths above 4 GiB.
    assert_eq!(
        decode_length(&[0xF7, 0, 0, 0, 1]).unwrap(),
        Some((0x7_0000_0001, 5))
    );

    let limits = Limits {
        max_word: 8,
        max_sentence: 10,
        max_words: 3,
    };
    let mut decoder = Decoder::with_limits(limits);
    decoder.feed(&Sentence::new(&["!re", "=a=1"]).to_bytes());
    decoder.feed(&Sentence::new(&["!re", "=a=1", "=b=2"]).to_bytes());
    assert_eq!(
        decoder.next().unwrap(),
        Some(Sentence::new(&["!re", "=a=1"]))
    );
    assert!(matches!(
        decoder.next(),
        Err(Error::SentenceTooLong {
            limit: 10,
            offset: 19
        })
    ));
    // The error is sticky and later input is ignored.
    decoder.feed(&Sentence::new(&["!done"]).to_bytes());
    assert!(matches!(decoder.next(), Err(Error::SentenceTooLong { .. })));

    let mut decoder = Decoder::with_limits(limits);
    decoder.feed(&Sentence::new(&["!re", "a", "b", "c"]).to_bytes());
    assert!(matches!(
        decoder.next(),
        Err(Error::TooManyWords { limit: 3, .. })
    ));
    let mut decoder = Decoder::with_limits(limits);
    decoder.feed(&Sentence::new(&["!re", "=name=123456"]).to_bytes());
    assert!(matches!(
        decoder.next(),
        Err(Error::WordTooLong { length: 12, .. })
    ));
}

#[test]
fn empty_sentences_are_skipped_and_cut_streams_are_visible() {
    let mut decoder = Decoder::new();
    decoder.feed(&[0, 0, 5]);
    decoder.feed(b"!do");
    assert_eq!(decoder.next(), Ok(None));
    assert!(decoder.in_sentence());
    decoder.feed(b"ne\0");
    assert_eq!(decoder.next(), Ok(Some(Sentence::new(&["!done"]))));
    assert!(!decoder.in_sentence());
    assert_eq!(decoder.offset(), 9);
}

#[test]
fn decimal_and_display_helpers() {
    assert_eq!(
        parse_decimal::<u64>(b"18446744073709551"),
        Some(18446744073709551)
    );
    assert_eq!(
        parse_decimal::<u64>(b"1844674407370955161"),
        Some(1844674407370955161)
    );
    assert_eq!(
        parse_decimal::<u64>(b"18446744073709551615"),
        Some(u64::MAX)
    );
    assert_eq!(parse_decimal::<u64>(b"18446744073709551616"), None);
    assert_eq!(
        parse_decimal::<u64>(b"000000000000000000000000042"),
        Some(42)
    );
    assert_eq!(parse_decimal::<u32>(b"4294967296"), None);
    assert_eq!(parse_decimal::<u64>(b"-1"), None);
    assert_eq!(parse_decimal::<u64>(b""), None);
    assert_eq!(hex(&[0, 0xab]), "00 ab");
    assert_eq!(
        Sentence::new(&[&b"!re"[..], &[0x3d, 0xff]]).to_string(),
        "[\"!re\", \"=\u{fffd}\"]"
    );
}

/// Feeds `bytes` in the given chunk sizes and drains; returns how many
/// sentences came out and whether it ended in an error. Never loops for
/// longer than the number of bytes fed allows.
fn drain_bounded(bytes: &[u8], chunk_sizes: &[usize]) -> (usize, bool) {
    let mut decoder = Decoder::new();
    let mut rest = bytes;
    let mut sizes = chunk_sizes.iter().cycle();
    let mut count = 0;
    while !rest.is_empty() {
        let take = (*sizes.next().unwrap()).clamp(1, rest.len());
        decoder.feed(&rest[..take]);
        rest = &rest[take..];
        loop {
            match decoder.next() {
                Ok(Some(sentence)) => {
                    // Whatever decodes must also parse, or fail cleanly.
                    let _ = Reply::parse(&sentence);
                    let _ = Command::parse(&sentence);
                    count += 1;
                }
                Ok(None) => break,
                Err(_) => return (count, true),
            }
            assert!(count <= bytes.len(), "more sentences than bytes");
        }
    }
    (count, false)
}

fn arb_sentence() -> impl Strategy<Value = Sentence> {
    let word = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 1..40),
        1 => proptest::collection::vec(any::<u8>(), 120..300),
        1 => proptest::collection::vec(any::<u8>(), 16_380..16_390),
    ];
    proptest::collection::vec(word, 1..6).prop_map(|words| Sentence { words })
}

proptest! {
    #[test]
    fn random_bytes_end_in_sentences_or_an_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        chunks in proptest::collection::vec(1usize..64, 1..8),
    ) {
        drain_bounded(&bytes, &chunks);
    }

    #[test]
    fn sentences_round_trip_split_anywhere(
        sentences in proptest::collection::vec(arb_sentence(), 1..5),
        chunks in proptest::collection::vec(1usize..5000, 1..8),
    ) {
        let bytes: Vec<u8> = sentences.iter().flat_map(Sentence::to_bytes).collect();
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let take = (*sizes.next().unwrap()).min(rest.len());
            out.extend(decode_chunks(&mut decoder, &[&rest[..take]]).unwrap());
            rest = &rest[take..];
        }
        prop_assert_eq!(out, sentences);
        prop_assert!(!decoder.in_sentence());
    }

    #[test]
    fn mutated_streams_never_panic(
        sentences in proptest::collection::vec(arb_sentence(), 1..4),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        chunks in proptest::collection::vec(1usize..64, 1..4),
    ) {
        let mut bytes: Vec<u8> = sentences.iter().flat_map(Sentence::to_bytes).collect();
        for (index, value) in edits {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        let (count, _) = drain_bounded(&bytes, &chunks);
        prop_assert!(count <= bytes.len());
    }
}
