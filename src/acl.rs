//! The allow-list (who may use the web server; a part of the config that
//! the web server applies) and the client address it is applied to:
//! single addresses, CIDR ranges (IPv4 and IPv6; host bits are allowed and
//! ignored) and host names; IPv4-mapped IPv6 addresses count as the IPv4
//! address they carry; `X-Forwarded-For` is believed only from trusted
//! proxies.
//!
//! The `Host` header is checked too ([`host_allowed`]): only names of this
//! server are answered, against DNS rebinding.
//!
//! This module is pure: it does no I/O and resolves no name. Host names
//! are resolved elsewhere, in the background, and their addresses are
//! passed in ([`AllowList::allows`]), so a request never waits for DNS.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// The default list: loopback and the private ranges (RFC 1918, IPv6
/// unique local and link-local).
pub const DEFAULT: [&str; 7] = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// One entry of an allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An address or a range.
    Net(IpNet),
    /// A host name, allowed at the addresses it resolves to.
    Host(String),
}

/// An entry that is neither an address, a range nor a host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The entry as written.
    pub entry: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an address (192.168.1.10, fd00::1), a range (192.168.1.0/24, fd00::/8) or a host name",
            self.entry
        )
    }
}

impl std::error::Error for Error {}

impl FromStr for Entry {
    type Err = Error;

    /// Reads `10.1.2.3`, `10.1.2.0/24`, `10.1.2.3/24` (the range
    /// 10.1.2.0/24), `fd00::1`, `[fd00::1]`, `fd00::/8` or a host name.
    fn from_str(text: &str) -> Result<Entry, Error> {
        let error = || Error {
            entry: text.to_string(),
        };
        let trimmed = text.trim();
        let bare = trimmed
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(address) = bare.parse::<IpAddr>() {
            return Ok(Entry::Net(IpNet::from(address.to_canonical())));
        }
        if let Ok(net) = bare.parse::<IpNet>() {
            return Ok(Entry::Net(net.trunc()));
        }
        if is_host_name(bare) {
            return Ok(Entry::Host(bare.to_ascii_lowercase()));
        }
        Err(error())
    }
}

/// A parsed allow-list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl AllowList {
    /// Parses every entry; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, Error> {
        let mut list = AllowList::default();
        for entry in entries {
            match entry.as_ref().parse()? {
                Entry::Net(net) => list.nets.push(net),
                Entry::Host(host) => list.hosts.push(host),
            }
        }
        Ok(list)
    }

    /// The default list ([`DEFAULT`]).
    pub fn default_private() -> AllowList {
        AllowList {
            nets: DEFAULT.iter().filter_map(|net| net.parse().ok()).collect(),
            hosts: Vec::new(),
        }
    }

    /// Whether the list allows nobody (the server says so at startup).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.hosts.is_empty()
    }

    /// The host names, for the background resolver.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether `address` is allowed; `resolved` holds the addresses the
    /// host names currently resolve to. IPv4-mapped IPv6 addresses are
    /// taken as the IPv4 address they carry.
    pub fn allows(&self, address: IpAddr, resolved: &[IpAddr]) -> bool {
        let address = address.to_canonical();
        self.nets.iter().any(|net| net.contains(&address))
            || resolved.iter().any(|r| r.to_canonical() == address)
    }
}

/// The address a request comes from: the peer's, unless the peer is a
/// trusted proxy, in which case the `X-Forwarded-For` chain is walked from
/// the right past every trusted proxy to the first address that is not
/// one. A malformed chain counts as no chain: the peer's address is used.
pub fn client_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    proxies: &AllowList,
    proxies_resolved: &[IpAddr],
) -> IpAddr {
    let peer = peer.to_canonical();
    let Some(chain) = forwarded_for else {
        return peer;
    };
    if !proxies.allows(peer, proxies_resolved) {
        return peer;
    }
    let mut client = peer;
    for hop in chain.rsplit(',') {
        let hop = hop.trim();
        let bare = hop
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(hop);
        let Ok(address) = bare.parse::<IpAddr>() else {
            return peer;
        };
        client = address.to_canonical();
        if !proxies.allows(client, proxies_resolved) {
            break;
        }
    }
    client
}

/// Whether `host` (a request's `Host` header, `None` when there is none)
/// names this server, so that a page of another site cannot read the
/// JSON through a name rebound to this machine's address (DNS rebinding):
/// an IP literal (`192.168.1.5`, `[fd00::1]`), `localhost`, or one of
/// `names` (as [`normalized_host`] gives them), each with or without a
/// port. A request without `Host` does not come from a browser (they all
/// send it), so it passes.
pub fn host_allowed(host: Option<&str>, names: &[String]) -> bool {
    let Some(host) = host else {
        return true;
    };
    let is_port = |p: &str| p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return port_ok && inside.parse::<Ipv6Addr>().is_ok();
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return false,
        None => host,
    };
    if name.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    let name = normalized_host(name);
    name == "localhost" || names.contains(&name)
}

/// A host name as [`host_allowed`] compares it: lower case, without a
/// trailing dot.
pub fn normalized_host(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Whether `name` is a syntactically valid host name (RFC 1123 labels of
/// letters, digits and hyphens, not starting or ending with a hyphen; a
/// trailing dot is allowed; not all digits, so that a mistyped address is
/// not taken for a name).
pub fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    labels_ok && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn entries() {
        let net = |text: &str| Entry::Net(text.parse().unwrap());
        assert_eq!("10.1.2.3".parse(), Ok(net("10.1.2.3/32")));
        assert_eq!(
            "10.1.2.3/24".parse(),
            Ok(net("10.1.2.0/24")),
            "host bits are allowed"
        );
        assert_eq!(" fd00::1 ".parse(), Ok(net("fd00::1/128")));
        assert_eq!("[fd00::1]".parse(), Ok(net("fd00::1/128")));
        assert_eq!("fd00::1/8".parse(), Ok(net("fd00::/8")));
        assert_eq!("::ffff:192.0.2.7".parse(), Ok(net("192.0.2.7/32")));
        assert_eq!("Pi.Local.".parse(), Ok(Entry::Host("pi.local.".into())));
        for bad in [
            "",
            "10.1.2.300",
            "10.1.2",
            "10.0.0.0/33",
            "-bad.example",
            "a b",
            "fd00::/129",
            "x_y",
        ] {
            let error = bad.parse::<Entry>().unwrap_err();
            assert!(error.to_string().contains("is not an address"), "{bad}");
        }
    }

    #[test]
    fn the_default_list_is_loopback_and_private_ranges() {
        let list = AllowList::default_private();
        for allowed in [
            "127.0.0.1",
            "::1",
            "10.9.8.7",
            "172.31.255.255",
            "192.168.88.254",
            "fd12::1",
            "fe80::1",
            "::ffff:192.168.1.2",
        ] {
            assert!(list.allows(ip(allowed), &[]), "{allowed}");
        }
        for denied in [
            "172.32.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "169.254.1.1",
        ] {
            assert!(!list.allows(ip(denied), &[]), "{denied}");
        }
    }

    #[test]
    fn lists_with_hosts_and_the_empty_list() {
        let list = AllowList::parse(&["192.0.2.0/24", "2001:db8::5", "nas.example"]).unwrap();
        assert_eq!(list.hosts(), ["nas.example"]);
        assert!(list.allows(ip("192.0.2.200"), &[]));
        assert!(list.allows(ip("2001:db8::5"), &[]));
        assert!(!list.allows(ip("2001:db8::6"), &[]));
        assert!(!list.allows(ip("198.51.100.9"), &[]));
        assert!(
            list.allows(ip("198.51.100.9"), &[ip("198.51.100.9")]),
            "resolved host"
        );
        assert!(list.allows(ip("::ffff:198.51.100.9"), &[ip("198.51.100.9")]));
        assert!(AllowList::parse(&["192.0.2.1", "no good"]).is_err());
        let empty = AllowList::parse::<&str>(&[]).unwrap();
        assert!(empty.is_empty());
        assert!(!empty.allows(ip("127.0.0.1"), &[]));
    }

    #[test]
    fn host_names_of_this_server() {
        let names = [
            "pi".to_string(),
            "pi.local".into(),
            "traffic.example".into(),
        ];
        let allowed = |host| host_allowed(Some(host), &names);
        for host in [
            "192.168.1.5",
            "192.168.1.5:8080",
            "[fd00::1]",
            "[fd00::1]:8080",
            "[::ffff:10.0.0.1]:80",
            "localhost",
            "LOCALHOST.:8080",
            "pi",
            "Pi.Local",
            "pi.local.:8080",
            "traffic.example:",
        ] {
            assert!(allowed(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "pi.evil.example",
            "192.168.1.5.evil.example",
            "localhost.evil.example",
            "fd00::1",
            "[fd00::1",
            "[fd00::1]x",
            "[fd00::1]:123456",
            "[evil.example]",
            "pi:http",
            "pi:8080:80",
            "traffic.example:99999999",
        ] {
            assert!(!allowed(host), "{host}");
        }
        assert!(host_allowed(None, &[]), "no Host header: not a browser");
        assert_eq!(normalized_host("Pi.Local."), "pi.local");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = AllowList::parse(&["10.0.0.2", "10.0.0.3"]).unwrap();
        let client =
            |peer: &str, chain: Option<&str>| client_address(ip(peer), chain, &proxies, &[]);
        assert_eq!(client("192.0.2.9", None), ip("192.0.2.9"));
        assert_eq!(
            client("192.0.2.9", Some("198.51.100.1")),
            ip("192.0.2.9"),
            "untrusted peer"
        );
        assert_eq!(client("10.0.0.2", Some("198.51.100.1")), ip("198.51.100.1"));
        assert_eq!(
            client("10.0.0.2", Some("203.0.113.5, 198.51.100.1, 10.0.0.3")),
            ip("198.51.100.1"),
            "the rightmost address that is not a trusted proxy"
        );
        assert_eq!(client("10.0.0.2", Some("10.0.0.3")), ip("10.0.0.3"));
        assert_eq!(
            client("10.0.0.2", Some("garbage, 198.51.100.1")),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.2", Some("198.51.100.1, garbage")),
            ip("10.0.0.2"),
            "malformed"
        );
        assert_eq!(
            client("::ffff:10.0.0.2", Some("[2001:db8::1]")),
            ip("2001:db8::1")
        );
    }
}
