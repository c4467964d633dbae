//! Gunzip of the compiled-in page files, for the rare client that does not
//! accept gzip: the binary carries each file only gzipped (its plain copy
//! cost more than the whole decoder), and this DEFLATE decoder (RFC 1950's
//! sibling RFC 1951, in a gzip member of RFC 1952) gives the plain bytes
//! back. It reads only the bytes it is given, and answers `None` for
//! anything malformed instead of panicking. Code lengths and symbol tables
//! are decoded the canonical way (count per length, symbols in order), as
//! in zlib's `puff`, which favours small code over speed.

/// The plain bytes of a gzip member, or `None` if it is not a well-formed
/// one (bad header, bad DEFLATE data, or a length that does not match its
/// trailer).
pub fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    // ID1 ID2 CM FLG MTIME(4) XFL OS, then the optional fields of FLG.
    if data.get(..3)? != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = *data.get(3)?;
    let mut pos = 10;
    if flags & 4 != 0 {
        let extra = usize::from(u16::from_le_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        pos += 2 + extra;
    }
    for flag in [8, 16] {
        if flags & flag != 0 {
            pos += data.get(pos..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    let mut bits = Bits {
        data: data.get(pos..)?,
        pos: 0,
        buffer: 0,
        count: 0,
    };
    let mut out = Vec::new();
    inflate(&mut bits, &mut out)?;
    // CRC-32 (not checked: the bytes are our own) and ISIZE.
    let trailer = bits.data.get(bits.pos + 4..bits.pos + 8)?;
    let size = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    (size == out.len() as u32).then_some(out)
}

/// DEFLATE's input, read least significant bit first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buffer: u32,
    count: u32,
}

impl Bits<'_> {
    /// The next `n` (at most 16) bits.
    fn take(&mut self, n: u32) -> Option<u32> {
        while self.count < n {
            self.buffer |= u32::from(*self.data.get(self.pos)?) << self.count;
            self.pos += 1;
            self.count += 8;
        }
        let value = self.buffer & ((1 << n) - 1);
        self.buffer >>= n;
        self.count -= n;
        Some(value)
    }
}

/// A canonical Huffman code: how many codes of each length 0..=15, and the
/// symbols in code order.
struct Code {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Code {
    /// The code for the code lengths of symbols 0, 1, …
    fn new(lengths: &[u8]) -> Code {
        let mut counts = [0u16; 16];
        for &length in lengths {
            counts[usize::from(length & 15)] += 1;
        }
        let mut offsets = [0usize; 16];
        for length in 1..15 {
            offsets[length + 1] = offsets[length] + usize::from(counts[length]);
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &length) in lengths.iter().enumerate() {
            if length != 0 {
                let at = &mut offsets[usize::from(length & 15)];
                symbols[*at] = symbol as u16;
                *at += 1;
            }
        }
        Code { counts, symbols }
    }

    /// The next symbol in `bits`.
    fn decode(&self, bits: &mut Bits) -> Option<usize> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for &count in &self.counts[1..] {
            code |= bits.take(1)? as i32;
            let count = i32::from(count);
            if code - first < count {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .map(|&s| usize::from(s));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which a dynamic block gives its code length code's lengths.
const LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Every block of a DEFLATE stream, appended to `out`.
fn inflate(bits: &mut Bits, out: &mut Vec<u8>) -> Option<()> {
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => {
                // Stored: from the next byte, LEN, NLEN and LEN bytes.
                bits.buffer = 0;
                bits.count = 0;
                let header = bits.data.get(bits.pos..bits.pos + 4)?;
                let len = u16::from_le_bytes([header[0], header[1]]);
                if len != !u16::from_le_bytes([header[2], header[3]]) {
                    return None;
                }
                let start = bits.pos + 4;
                out.extend_from_slice(bits.data.get(start..start + usize::from(len))?);
                bits.pos = start + usize::from(len);
            }
            1 => {
                let mut lengths = [8u8; 288];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                codes(bits, out, &Code::new(&lengths), &Code::new(&[5; 30]))?;
            }
            2 => {
                let (literals, distances) = dynamic(bits)?;
                codes(bits, out, &literals, &distances)?;
            }
            _ => return None,
        }
        if last {
            return Some(());
        }
    }
}

/// A dynamic block's literal/length and distance codes.
fn dynamic(bits: &mut Bits) -> Option<(Code, Code)> {
    let literals = bits.take(5)? as usize + 257;
    let distances = bits.take(5)? as usize + 1;
    let code_lengths = bits.take(4)? as usize + 4;
    if literals > 286 || distances > 30 {
        return None;
    }
    let mut lengths = [0u8; 19];
    for &symbol in &LENGTH_ORDER[..code_lengths] {
        lengths[symbol] = bits.take(3)? as u8;
    }
    let length_code = Code::new(&lengths);
    let mut lengths = vec![0u8; literals + distances];
    let mut index = 0;
    while index < lengths.len() {
        let symbol = length_code.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => (*lengths.get(index.checked_sub(1)?)?, 3 + bits.take(2)?),
            17 => (0, 3 + bits.take(3)?),
            _ => (0, 11 + bits.take(7)?),
        };
        let end = index + repeat as usize;
        lengths.get_mut(index..end)?.fill(value);
        index = end;
    }
    Some((
        Code::new(&lengths[..literals]),
        Code::new(&lengths[literals..]),
    ))
}

/// A compressed block's literals and copies, up to its end-of-block code.
fn codes(bits: &mut Bits, out: &mut Vec<u8>, literals: &Code, distances: &Code) -> Option<()> {
    loop {
        let symbol = literals.decode(bits)?;
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => return Some(()),
            _ => {
                let i = symbol - 257;
                let length = usize::from(*LENGTH_BASE.get(i)?)
                    + bits.take(u32::from(LENGTH_EXTRA[i]))? as usize;
                let d = distances.decode(bits)?;
                let distance = usize::from(*DISTANCE_BASE.get(d)?)
                    + bits.take(u32::from(DISTANCE_EXTRA[d]))? as usize;
                let from = out.len().checked_sub(distance)?;
                for k in from..from + length {
                    out.push(out[k]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// `data` through the system's `gzip` at `level`, so that these tests
    /// do not trust the encoder the build uses.
    fn system_gzip(data: &[u8], level: &str) -> Vec<u8> {
        let mut child = Command::new("gzip")
            .args([level, "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip is installed");
        let mut stdin = child.stdin.take().unwrap();
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = child.wait_with_output().unwrap().stdout;
        writer.join().unwrap();
        out
    }

    /// Pseudo-random bytes (xorshift), which gzip stores uncompressed.
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Text of `len` bytes from a few words in pseudo-random order, which
    /// gzip compresses with dynamic Huffman codes.
    fn prose(len: usize) -> Vec<u8> {
        const WORDS: [&str; 8] = [
            "the ", "router ", "counts ", "bytes ", "per ", "second, ", "and\n", "graphs ",
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut text = Vec::new();
        while text.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.extend_from_slice(WORDS[(x % 8) as usize].as_bytes());
        }
        text.truncate(len);
        text
    }

    #[test]
    fn gives_back_what_gzip_compressed() {
        let text = prose(60_000);
        let mut mixed = noise(40_000);
        mixed.extend_from_slice(&text[..20_000]);
        mixed.extend(std::iter::repeat_n(b'a', 70_000));
        let inputs: [&[u8]; 6] = [
            b"",
            b"a",
            b"hello, hello, hello",
            &text,
            &noise(100_000),
            &mixed,
        ];
        for input in inputs {
            for level in ["-1", "-6", "-9"] {
                let gz = system_gzip(input, level);
                assert_eq!(
                    gunzip(&gz).as_deref(),
                    Some(input),
                    "{} B at {level}",
                    input.len()
                );
            }
        }
    }

    #[test]
    fn header_fields_are_skipped() {
        // FNAME "a.txt" (gzip writes it when given a file), then the same
        // DEFLATE data as the plain member.
        let plain = system_gzip(b"some text, some text", "-9");
        let mut named = plain[..10].to_vec();
        named[3] = 8;
        named.extend_from_slice(b"a.txt\0");
        named.extend_from_slice(&plain[10..]);
        assert_eq!(
            gunzip(&named).as_deref(),
            Some(&b"some text, some text"[..])
        );
    }

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        let gz = system_gzip(&prose(60_000), "-9");
        for cut in 0..gz.len().min(3000) {
            assert_eq!(gunzip(&gz[..cut]), None, "cut at {cut}");
        }
        let mut x = 1u32;
        for _ in 0..2000 {
            let mut bad = gz[..4000.min(gz.len())].to_vec();
            for _ in 0..4 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let at = 10 + (x as usize >> 8) % (bad.len() - 10);
                bad[at] ^= 1 << (x % 8);
            }
            let _ = gunzip(&bad);
        }
        assert_eq!(
            gunzip(b"\x1f\x8b\x08\0\0\0\0\0\0\x03\x07"),
            None,
            "block type 3"
        );
    }
}
