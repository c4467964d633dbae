//! The settings page's login: the admin password's slow hash
//! (PBKDF2-HMAC-SHA256, RFC 8018, written out here on the `sha2` crate:
//! HMAC and PBKDF2 are a few lines), random salts and session tokens from
//! the kernel (`getrandom(2)`), the login [`Throttle`] per client address
//! and the [`Sessions`] table.
//!
//! The stored form is `pbkdf2-sha256$<iterations>$<salt>$<hash>` (salt and
//! hash in standard base64), so the parameters travel with the hash and a
//! later change of [`ITERATIONS`] still checks older strings.
//!
//! Pure but for [`random`] and [`new_hash`]: times are passed in.
//!
//! Invariant: no table here grows without bound ([`MAX_SESSIONS`],
//! [`MAX_CLIENTS`]), a session token is never kept in clear (its SHA-256
//! is), and comparisons of secrets take the same time whatever they hold.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// PBKDF2 rounds of a new hash (two SHA-256 compressions each, 2.6 MB
/// hashed in all): chosen for about 50 to 100 ms per check on a Raspberry
/// Pi 3, whose Cortex-A53 has no SHA instructions (an estimate from
/// software SHA-256 at 25 to 50 MB/s there, not measured on a Pi); README,
/// "Settings page", has the time measured on x86_64.
pub const ITERATIONS: u32 = 20_000;
/// The fewest and the most rounds a stored hash may name (the most
/// bounds the time one login attempt can take).
pub const ITERATIONS_RANGE: std::ops::RangeInclusive<u32> = 1_000..=10_000_000;
/// Bytes of a new salt.
pub const SALT_BYTES: usize = 16;
/// The prefix of the stored form.
pub const PREFIX: &str = "pbkdf2-sha256";

/// HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed
/// once, so each message costs two compressions.
#[derive(Clone)]
struct Hmac {
    inner: Sha256,
    outer: Sha256,
}

impl Hmac {
    fn new(key: &[u8]) -> Hmac {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| {
            let mut hasher = Sha256::new();
            hasher.update(block.map(|b| b ^ byte));
            hasher
        };
        Hmac {
            inner: pad(0x36),
            outer: pad(0x5c),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

/// HMAC-SHA256 of `message` with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    Hmac::new(key).mac(&[message])
}

/// PBKDF2-HMAC-SHA256 (RFC 8018, 5.2) of `password` and `salt` with
/// `iterations` rounds, filling `out`.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    let hmac = Hmac::new(password);
    for (index, chunk) in out.chunks_mut(32).enumerate() {
        let block = (index as u32 + 1).to_be_bytes();
        let mut u = hmac.mac(&[salt, &block]);
        let mut t = u;
        for _ in 1..iterations {
            u = hmac.mac(&[&u]);
            t.iter_mut().zip(u).for_each(|(t, u)| *t ^= u);
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

/// A stored admin password hash, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hash {
    iterations: u32,
    salt: Vec<u8>,
    hash: [u8; 32],
}

impl Hash {
    /// Parses the stored form; the error says what is wrong (never echoing
    /// the hash).
    pub fn parse(text: &str) -> Result<Hash, String> {
        let format = format!(
            "must be {PREFIX}$<iterations>$<salt>$<hash>, as `mt-trafmon passwd` writes it"
        );
        let mut parts = text.split('$');
        let (Some(PREFIX), Some(iterations), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(format);
        };
        let iterations: u32 = iterations.parse().map_err(|_| format.clone())?;
        if !ITERATIONS_RANGE.contains(&iterations) {
            return Err(format!(
                "{iterations} iterations is out of range ({} to {})",
                ITERATIONS_RANGE.start(),
                ITERATIONS_RANGE.end()
            ));
        }
        let salt = STANDARD.decode(salt).map_err(|_| format.clone())?;
        if !(8..=64).contains(&salt.len()) {
            return Err("the salt must be 8 to 64 bytes".into());
        }
        let hash = STANDARD
            .decode(hash)
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or(format)?;
        Ok(Hash {
            iterations,
            salt,
            hash,
        })
    }

    /// The hash of `password` with `salt` and `iterations`.
    pub fn new(password: &str, salt: &[u8], iterations: u32) -> Hash {
        let mut hash = [0u8; 32];
        pbkdf2_sha256(password.as_bytes(), salt, iterations, &mut hash);
        Hash {
            iterations,
            salt: salt.to_vec(),
            hash,
        }
    }

    /// Whether `password` is the one hashed (in constant time over the
    /// hash bytes).
    pub fn verify(&self, password: &str) -> bool {
        let other = Hash::new(password, &self.salt, self.iterations);
        equal(&self.hash, &other.hash)
    }
}

impl std::fmt::Display for Hash {
    /// The stored form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}${}${}${}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.hash)
        )
    }
}

/// The stored form of a new hash of `password`, with a random salt and
/// [`ITERATIONS`] rounds.
pub fn new_hash(password: &str) -> std::io::Result<String> {
    let salt = random::<SALT_BYTES>()?;
    Ok(Hash::new(password, &salt, ITERATIONS).to_string())
}

/// `N` random bytes from the kernel (`getrandom(2)`, which blocks only
/// until the kernel's generator is seeded at boot).
pub fn random<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    let mut filled = 0;
    while filled < N {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(bytes)
}

/// Whether two byte strings are equal, in a time that depends only on
/// their lengths.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Failed logins a client address may make before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The wait after the first failure beyond [`FREE_FAILURES`]; each further
/// failure doubles it, up to [`MAX_LOCKOUT`].
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Client addresses remembered; when full, those whose wait is over and
/// that failed longest ago are forgotten first.
pub const MAX_CLIENTS: usize = 1024;

/// Failed logins per client address (an IPv6 address counts as its /64,
/// which one machine usually has whole): after [`FREE_FAILURES`] failures,
/// each failure makes the address wait 1 s, 2 s, 4 s, … up to
/// [`MAX_LOCKOUT`] before the next attempt; a success forgets it.
///
/// A list searched in turn (at most [`MAX_CLIENTS`] entries, looked at once
/// per login): smaller code than a hash map's.
#[derive(Debug, Default)]
pub struct Throttle {
    clients: Vec<(IpAddr, Failures)>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
    until: Instant,
}

/// The key of a client address in the [`Throttle`].
fn client_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

impl Throttle {
    /// How long `client` must still wait before it may try at `now`
    /// (`None`: it may try).
    pub fn wait(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let key = client_key(client);
        let (_, failures) = self.clients.iter().find(|(k, _)| *k == key)?;
        let left = failures.until.saturating_duration_since(now);
        (!left.is_zero()).then_some(left)
    }

    /// Records a failed attempt of `client` at `now`.
    pub fn failed(&mut self, client: IpAddr, now: Instant) {
        let key = client_key(client);
        let index = match self.clients.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                if self.clients.len() >= MAX_CLIENTS {
                    // The one whose wait is over and that failed longest ago.
                    let forget = (0..self.clients.len()).min_by_key(|&i| {
                        let f = &self.clients[i].1;
                        (f.until > now, f.last)
                    });
                    if let Some(forget) = forget {
                        self.clients.swap_remove(forget);
                    }
                }
                let failures = Failures {
                    count: 0,
                    last: now,
                    until: now,
                };
                self.clients.push((key, failures));
                self.clients.len() - 1
            }
        };
        let failures = &mut self.clients[index].1;
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
        if failures.count > FREE_FAILURES {
            let doublings = (failures.count - FREE_FAILURES - 1).min(20);
            let lockout = (FIRST_LOCKOUT * (1u32 << doublings)).min(MAX_LOCKOUT);
            failures.until = now + lockout;
        }
    }

    /// Forgets `client`'s failures (it logged in).
    pub fn succeeded(&mut self, client: IpAddr) {
        let key = client_key(client);
        self.clients.retain(|(k, _)| *k != key);
    }
}

/// Logged-in sessions at once; a new one beyond this ends the one used
/// longest ago.
pub const MAX_SESSIONS: usize = 16;
/// A session unused for this long has ended.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// The logged-in sessions: the SHA-256 of each token with its last use and
/// the admin hash it logged in against (a new password ends the sessions
/// of the old one).
#[derive(Debug, Default)]
pub struct Sessions {
    /// (hash of the token, last use, admin hash); at most [`MAX_SESSIONS`].
    sessions: Vec<([u8; 32], Instant, String)>,
}

impl Sessions {
    /// Starts a session for the admin hash `admin` (its stored form) at
    /// `now` with the random `token` (hex of 32 random bytes); returns the
    /// token for the cookie.
    pub fn start(&mut self, admin: &str, token: [u8; 32], now: Instant) -> String {
        self.expire(now);
        if self.sessions.len() >= MAX_SESSIONS {
            let oldest = (0..self.sessions.len()).min_by_key(|&i| self.sessions[i].1);
            if let Some(oldest) = oldest {
                self.sessions.swap_remove(oldest);
            }
        }
        let text: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        self.sessions.retain(|(k, _, _)| *k != key);
        self.sessions.push((key, now, admin.into()));
        text
    }

    /// Whether `token` is a live session for the admin hash `admin` at
    /// `now`; a live one counts as used.
    pub fn check(&mut self, admin: &str, token: &str, now: Instant) -> bool {
        self.expire(now);
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let Some(index) = self.sessions.iter().position(|(k, _, _)| *k == key) else {
            return false;
        };
        let (_, last, hash) = &mut self.sessions[index];
        if equal(hash.as_bytes(), admin.as_bytes()) {
            *last = now;
            return true;
        }
        self.sessions.swap_remove(index);
        false
    }

    /// Ends the session of `token`, if any.
    pub fn end(&mut self, token: &str) {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.sessions.retain(|(k, _, _)| *k != key);
    }

    /// Sessions live at `now`.
    pub fn len(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.sessions.len()
    }

    fn expire(&mut self, now: Instant) {
        self.sessions
            .retain(|(_, last, _)| now.saturating_duration_since(*last) < SESSION_IDLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_rfc_4231_vectors() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex(&hmac_sha256(key, message)), expected);
        }
    }

    #[test]
    fn pbkdf2_sha256_vectors() {
        // RFC 7914, section 11 (PBKDF2-HMAC-SHA256, 64 bytes out).
        let mut out = [0u8; 64];
        pbkdf2_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        pbkdf2_sha256(b"Password", b"NaCl", 80000, &mut out);
        assert_eq!(
            hex(&out),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
        // The RFC 6070 inputs with SHA-256 (as published for PBKDF2-SHA256),
        // 32 bytes and a length that is not a whole block.
        let mut out = [0u8; 32];
        pbkdf2_sha256(b"password", b"salt", 1, &mut out);
        assert_eq!(
            hex(&out),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        pbkdf2_sha256(b"password", b"salt", 4096, &mut out);
        assert_eq!(
            hex(&out),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        let mut out = [0u8; 40];
        pbkdf2_sha256(
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            &mut out,
        );
        assert_eq!(
            hex(&out),
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"
        );
    }

    #[test]
    fn the_stored_form_round_trips_and_checks() {
        let hash = Hash::new("correct horse", b"0123456789abcdef", 1000);
        let text = hash.to_string();
        assert!(text.starts_with("pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$"));
        let parsed = Hash::parse(&text).unwrap();
        assert_eq!(parsed, hash);
        assert!(parsed.verify("correct horse"));
        assert!(!parsed.verify("correct horse "));
        assert!(!parsed.verify(""));
        let fresh = new_hash("x").unwrap();
        let other = new_hash("x").unwrap();
        assert_ne!(fresh, other, "each hash has its own salt");
        assert!(fresh.starts_with(&format!("{PREFIX}${ITERATIONS}$")));
        assert!(Hash::parse(&fresh).unwrap().verify("x"));
        for bad in [
            "",
            "x",
            "pbkdf2-sha1$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
            "pbkdf2-sha256$999$MDEyMzQ1Njc4OWFiY2RlZg==$",
            "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
            "pbkdf2-sha256$99999999999$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
            "pbkdf2-sha256$1000$!!$AAAA",
            "pbkdf2-sha256$1000$AAAA$AAAA",
            &format!("{text}$"),
        ] {
            assert!(Hash::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn randomness_differs() {
        let a = random::<32>().unwrap();
        let b = random::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }

    #[test]
    fn the_throttle_doubles_after_five_failures_up_to_its_cap() {
        let mut throttle = Throttle::default();
        let client: IpAddr = "192.168.1.9".parse().unwrap();
        let other: IpAddr = "192.168.1.10".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait(client, t0), None);
            throttle.failed(client, t0);
        }
        assert_eq!(throttle.wait(client, t0), None);
        throttle.failed(client, t0);
        assert_eq!(throttle.wait(client, t0), Some(Duration::from_secs(1)));
        assert_eq!(throttle.wait(other, t0), None, "per address");
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(throttle.wait(client, t1), None);
        throttle.failed(client, t1);
        assert_eq!(throttle.wait(client, t1), Some(Duration::from_secs(2)));
        let mut t = t1;
        for _ in 0..30 {
            t += MAX_LOCKOUT;
            throttle.failed(client, t);
        }
        assert_eq!(throttle.wait(client, t), Some(MAX_LOCKOUT));
        throttle.succeeded(client);
        assert_eq!(throttle.wait(client, t), None);
    }

    #[test]
    fn the_throttle_counts_an_ipv6_64_as_one_client_and_is_bounded() {
        let mut throttle = Throttle::default();
        let t0 = Instant::now();
        for n in 0..=FREE_FAILURES {
            let address: IpAddr = format!("fd00:1:2:3::{n:x}").parse().unwrap();
            throttle.failed(address, t0);
        }
        let same: IpAddr = "fd00:1:2:3:ffff::1".parse().unwrap();
        assert!(throttle.wait(same, t0).is_some());
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let plain: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..=FREE_FAILURES {
            throttle.failed(mapped, t0);
        }
        assert!(throttle.wait(plain, t0).is_some(), "IPv4-mapped is IPv4");
        for n in 0..(MAX_CLIENTS as u32 * 2) {
            throttle.failed(IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n)), t0);
        }
        assert!(throttle.clients.len() <= MAX_CLIENTS);
        assert!(
            throttle.wait(same, t0).is_some(),
            "a locked address is kept while unlocked ones can go"
        );
    }

    #[test]
    fn sessions_expire_end_and_are_bounded() {
        let mut sessions = Sessions::default();
        let t0 = Instant::now();
        let token = sessions.start("h1", [1; 32], t0);
        assert_eq!(token.len(), 64);
        assert!(sessions.check("h1", &token, t0));
        assert!(!sessions.check("h1", "00", t0));
        assert!(!sessions.check("h2", &token, t0), "a new password ends it");
        assert!(!sessions.check("h1", &token, t0), "for good");
        let token = sessions.start("h1", [2; 32], t0);
        let t1 = t0 + SESSION_IDLE - Duration::from_secs(1);
        assert!(
            sessions.check("h1", &token, t1),
            "used: its idle time restarts"
        );
        let t2 = t1 + SESSION_IDLE - Duration::from_secs(1);
        assert!(sessions.check("h1", &token, t2));
        assert!(!sessions.check("h1", &token, t2 + SESSION_IDLE));
        let token = sessions.start("h1", [3; 32], t2);
        sessions.end(&token);
        assert!(!sessions.check("h1", &token, t2));
        let first = sessions.start("h1", [4; 32], t2);
        for n in 0..MAX_SESSIONS as u8 {
            sessions.start("h1", [10 + n; 32], t2 + Duration::from_secs(1));
        }
        assert_eq!(sessions.len(t2), MAX_SESSIONS);
        assert!(!sessions.check("h1", &first, t2), "the oldest made room");
    }
}
