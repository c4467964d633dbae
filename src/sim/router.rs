//! The simulated router's state: its five interfaces (and any extra
//! `vlanN` ones asked for) with their counters,
//! its boot time, and the rows it answers `print` and `monitor-traffic`
//! with; interfaces can be removed, re-created (with a new `.id` and
//! counters from zero) and renamed, as a user would in WinBox.
//!
//! Pure state and values: time is an argument to every method, and this
//! module does no I/O and writes no sentences (the session turns rows into
//! replies).

use super::duration::format_uptime;
use super::traffic::{self, Bytes, Counter, Profile};
use crate::routeros::wire::Attrs;

/// The RouterOS version the simulator claims to be.
pub(crate) const VERSION: &str = "7.19.4 (stable)";
/// The identity `/system/identity/print` reports.
pub(crate) const IDENTITY: &str = "sim-router";

/// The router: interfaces and the time of the last (simulated) boot.
#[derive(Clone, Debug)]
pub(crate) struct Router {
    seed: u64,
    boot: f64,
    interfaces: Vec<Interface>,
    /// Removed interfaces, by name, for re-creating them.
    removed: Vec<Interface>,
    /// The number of the next `.id`.
    next_id: usize,
}

/// One interface: fixed properties and its counters.
#[derive(Clone, Debug)]
struct Interface {
    /// The `.id`, e.g. `*1`.
    id: String,
    name: String,
    kind: &'static str,
    mtu: u32,
    comment: Option<&'static [u8]>,
    disabled: bool,
    running: bool,
    profile: Profile,
    counter: Counter,
    /// Counts the restarts of `counter` (resets, reboots, re-creation):
    /// two readings of the same epoch are continuous.
    epoch: u64,
}

/// The 13 rate fields of a RouterOS 7 `monitor-traffic` row, in wire order.
pub(crate) const RATE_FIELDS: [&str; 13] = [
    "rx-packets-per-second",
    "rx-bits-per-second",
    "fp-rx-packets-per-second",
    "fp-rx-bits-per-second",
    "rx-drops-per-second",
    "rx-errors-per-second",
    "tx-packets-per-second",
    "tx-bits-per-second",
    "fp-tx-packets-per-second",
    "fp-tx-bits-per-second",
    "tx-drops-per-second",
    "tx-queue-drops-per-second",
    "tx-errors-per-second",
];

/// "Łódź" in Windows-1250, which is not valid UTF-8: RouterOS stores raw
/// bytes and WinBox writes the Windows code page.
const CP1250_COMMENT: &[u8] = b"\xa3\xf3d\x9f";

impl Router {
    /// A router booted at `now`, its counters at their large start values.
    pub(crate) fn new(seed: u64, now: f64) -> Router {
        let jitter = |lane: u64, span: u64| traffic::mix(seed ^ lane) % span;
        let interface = |number: usize, name: &str, kind, comment, profile, base| {
            let disabled = profile == Profile::Off;
            Interface {
                id: format!("*{number}"),
                name: name.to_string(),
                kind,
                mtu: 1500,
                comment,
                disabled,
                running: !disabled,
                profile,
                counter: Counter::new(seed, profile, base, now),
                epoch: 0,
            }
        };
        let bytes = |rx, tx| Bytes { rx, tx };
        let interfaces = vec![
            interface(
                1,
                "ether1",
                "ether",
                Some(&b"WAN"[..]),
                Profile::Wan,
                bytes(
                    4_398_046_511_104 + jitter(1, 1 << 36),
                    879_609_302_220 + jitter(2, 1 << 34),
                ),
            ),
            interface(
                2,
                "ether2",
                "ether",
                None,
                Profile::Lan,
                bytes(
                    68_719_476_736 + jitter(3, 1 << 30),
                    34_359_738_368 + jitter(4, 1 << 30),
                ),
            ),
            // Disabled, not running, and never any traffic.
            interface(3, "ether3", "ether", None, Profile::Off, bytes(0, 0)),
            interface(
                4,
                "bridge1",
                "bridge",
                None,
                Profile::Bridge,
                bytes(
                    103_079_215_104 + jitter(5, 1 << 30),
                    51_539_607_552 + jitter(6, 1 << 30),
                ),
            ),
            interface(
                5,
                "wlan1",
                "wlan",
                Some(CP1250_COMMENT),
                Profile::Wireless,
                bytes(
                    12_884_901_888 + jitter(7, 1 << 30),
                    6_442_450_944 + jitter(8, 1 << 30),
                ),
            ),
        ];
        Router {
            seed,
            boot: now,
            next_id: interfaces.len() + 1,
            interfaces,
            removed: Vec::new(),
        }
    }

    /// Removes the interface called `name`; false if there is none.
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        let Some(index) = self.find(name.as_bytes()) else {
            return false;
        };
        let interface = self.interfaces.remove(index);
        self.removed.retain(|i| i.name != interface.name);
        self.removed.push(interface);
        true
    }

    /// Re-creates the removed interface called `name` at `now`: a new
    /// `.id`, counters from zero; false if none was removed.
    pub(crate) fn recreate(&mut self, name: &str, now: f64) -> bool {
        let Some(index) = self.removed.iter().position(|i| i.name == name) else {
            return false;
        };
        let mut interface = self.removed.remove(index);
        interface.id = format!("*{}", self.next_id);
        self.next_id += 1;
        interface.counter = Counter::new(self.seed, interface.profile, Bytes::default(), now);
        interface.epoch += 1;
        self.interfaces.push(interface);
        true
    }

    /// Renames the interface called `from`; its `.id` and counters stay.
    /// False if there is none, or `to` is taken.
    pub(crate) fn rename(&mut self, from: &str, to: &str) -> bool {
        if self.find(to.as_bytes()).is_some() {
            return false;
        }
        match self.find(from.as_bytes()) {
            Some(index) => {
                self.interfaces[index].name = to.to_string();
                true
            }
            None => false,
        }
    }

    /// The epoch of the interface whose `.id` is `id` (see
    /// [`Interface::epoch`]).
    pub(crate) fn epoch(&self, id: &[u8]) -> Option<u64> {
        self.interfaces
            .iter()
            .find(|i| i.id.as_bytes() == id)
            .map(|i| i.epoch)
    }

    /// Adds `count` interfaces after the others, `vlan1` to `vlan<count>`,
    /// each with the LAN port's traffic (to measure a monitor of many
    /// interfaces).
    pub(crate) fn add_vlans(&mut self, count: usize, now: f64) {
        for k in 1..=count {
            let profile = Profile::Lan;
            self.interfaces.push(Interface {
                id: format!("*{}", self.next_id),
                name: format!("vlan{k}"),
                kind: "vlan",
                mtu: 1500,
                comment: None,
                disabled: false,
                running: true,
                profile,
                counter: Counter::new(self.seed, profile, Bytes::default(), now),
                epoch: 0,
            });
            self.next_id += 1;
        }
    }

    /// Reboots: uptime starts again at `now`, every counter at zero.
    pub(crate) fn reboot(&mut self, now: f64) {
        self.boot = now;
        self.reset_all(now);
    }

    /// Sets every counter to zero at `now`.
    pub(crate) fn reset_all(&mut self, now: f64) {
        for index in 0..self.interfaces.len() {
            self.reset(index, now);
        }
    }

    /// Sets the counters of the interface at `index` to zero at `now`.
    pub(crate) fn reset(&mut self, index: usize, now: f64) {
        if let Some(interface) = self.interfaces.get_mut(index) {
            interface.counter = Counter::new(self.seed, interface.profile, Bytes::default(), now);
            interface.epoch += 1;
        }
    }

    /// The index of the interface called `key`, or whose `.id` is `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        self.interfaces
            .iter()
            .position(|i| i.name.as_bytes() == key || i.id.as_bytes() == key)
    }

    /// The interface names in `.id` order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.interfaces.iter().map(|i| i.name.clone()).collect()
    }

    /// The byte counters (rx, tx) of the interface at `index` at `now`.
    pub(crate) fn counters(&mut self, index: usize, now: f64) -> Option<Bytes> {
        let seed = self.seed;
        let interface = self.interfaces.get_mut(index)?;
        Some(interface.counter.at(seed, interface.profile, now))
    }

    /// The rates (rx, tx) in bits per second that `monitor-traffic` reports
    /// for the interface at `index` at `now`.
    pub(crate) fn rates(&self, index: usize, now: f64) -> Option<Bytes> {
        let interface = self.interfaces.get(index)?;
        Some(traffic::rates_at(self.seed, interface.profile, now))
    }

    /// The bytes (rx, tx) the interface at `index` moves in whole second
    /// `second`, whatever the clock says.
    pub(crate) fn second_bytes(&self, index: usize, second: i64) -> Option<Bytes> {
        let interface = self.interfaces.get(index)?;
        Some(traffic::second_bytes(self.seed, interface.profile, second))
    }

    /// One `/interface/print` row per interface, at `now`.
    pub(crate) fn interface_rows(&mut self, now: f64) -> Vec<Attrs> {
        (0..self.interfaces.len())
            .map(|index| {
                let bytes = self.counters(index, now).unwrap_or_default();
                let interface = &self.interfaces[index];
                let size = traffic::packet_size(interface.profile);
                let mut row = Attrs::default();
                row.push(".id", interface.id.as_str());
                row.push("name", interface.name.as_str());
                row.push("type", interface.kind);
                row.push("mtu", interface.mtu.to_string());
                row.push("running", bool_word(interface.running));
                row.push("disabled", bool_word(interface.disabled));
                if let Some(comment) = interface.comment {
                    row.push("comment", comment);
                }
                row.push("rx-byte", bytes.rx.to_string());
                row.push("tx-byte", bytes.tx.to_string());
                row.push("rx-packet", (bytes.rx / size.rx).to_string());
                row.push("tx-packet", (bytes.tx / size.tx).to_string());
                row
            })
            .collect()
    }

    /// The `monitor-traffic` row of the interface at `index` at `now`: its
    /// name and the 13 rate fields. Fast-path fields, drops and errors are 0.
    pub(crate) fn monitor_row(&self, index: usize, now: f64) -> Option<Attrs> {
        let interface = self.interfaces.get(index)?;
        let bits = traffic::rates_at(self.seed, interface.profile, now);
        let size = traffic::packet_size(interface.profile);
        let mut row = Attrs::default();
        row.push("name", interface.name.as_str());
        for field in RATE_FIELDS {
            let value = match field {
                "rx-packets-per-second" => bits.rx / 8 / size.rx,
                "rx-bits-per-second" => bits.rx,
                "tx-packets-per-second" => bits.tx / 8 / size.tx,
                "tx-bits-per-second" => bits.tx,
                _ => 0,
            };
            row.push(field, value.to_string());
        }
        Some(row)
    }

    /// Seconds since the last boot at `now` (zero if the clock went back).
    pub(crate) fn uptime(&self, now: f64) -> u64 {
        let seconds = (now - self.boot).floor();
        match seconds > 0.0 {
            true => seconds as u64,
            false => 0,
        }
    }

    /// The `/system/resource/print` row at `now`.
    pub(crate) fn resource_row(&self, now: f64) -> Attrs {
        const TOTAL_MEMORY: u64 = 1 << 30;
        let second = traffic::whole_second(now);
        let wan = traffic::rates_at(self.seed, Profile::Wan, now);
        // A little load per 10 Mbit/s through the WAN port, plus a flicker.
        let cpu_load = 1 + wan.rx / 10_000_000 + traffic::mix(self.seed ^ second as u64) % 4;
        let free_memory = 880 * (1 << 20)
            - traffic::mix(self.seed ^ 0x4d45_4d00 ^ (second as u64 / 60)) % (32 << 20);
        let mut row = Attrs::default();
        row.push("uptime", format_uptime(self.uptime(now)));
        row.push("version", VERSION);
        row.push("board-name", "CHR");
        row.push("cpu-load", cpu_load.min(100).to_string());
        row.push("free-memory", free_memory.to_string());
        row.push("total-memory", TOTAL_MEMORY.to_string());
        row
    }

    /// The `/system/identity/print` row.
    pub(crate) fn identity_row(&self) -> Attrs {
        let mut row = Attrs::default();
        row.push("name", IDENTITY);
        row
    }
}

/// Booleans as RouterOS 7 writes them over the API.
fn bool_word(value: bool) -> &'static str {
    match value {
        true => "true",
        false => "false",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routeros::wire::parse_decimal;

    const START: f64 = 1_717_243_200.0;

    fn value<'a>(row: &'a Attrs, name: &str) -> &'a [u8] {
        row.get(name)
            .unwrap_or_else(|| panic!("no {name} in {row:?}"))
    }

    #[test]
    fn extra_vlans_follow_the_five_with_lan_traffic() {
        let mut router = Router::new(1, START);
        router.add_vlans(3, START);
        assert_eq!(router.names()[4..], ["wlan1", "vlan1", "vlan2", "vlan3"]);
        let index = router.find(b"vlan3").unwrap();
        assert_eq!(router.find(b"*8"), Some(index));
        let second = START as i64 + 10;
        assert_eq!(
            router.second_bytes(index, second),
            Some(traffic::second_bytes(1, Profile::Lan, second))
        );
        let before = router.counters(index, START + 1.0).unwrap();
        let after = router.counters(index, START + 60.0).unwrap();
        assert!(after.rx > before.rx && after.tx > before.tx);
    }

    #[test]
    fn interface_rows_have_the_documented_shape() {
        let mut router = Router::new(1, START);
        let rows = router.interface_rows(START + 5.0);
        let names: Vec<&[u8]> = rows.iter().map(|r| value(r, "name")).collect();
        assert_eq!(
            names,
            [&b"ether1"[..], b"ether2", b"ether3", b"bridge1", b"wlan1"]
        );
        let first: Vec<&[u8]> = rows[0].0.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(
            first,
            [
                &b".id"[..],
                b"name",
                b"type",
                b"mtu",
                b"running",
                b"disabled",
                b"comment",
                b"rx-byte",
                b"tx-byte",
                b"rx-packet",
                b"tx-packet"
            ]
        );
        assert_eq!(value(&rows[2], "disabled"), b"true");
        assert_eq!(value(&rows[2], "running"), b"false");
        assert_eq!(value(&rows[2], "rx-byte"), b"0");
        assert_eq!(value(&rows[4], "comment"), b"\xa3\xf3d\x9f");
        assert!(std::str::from_utf8(value(&rows[4], "comment")).is_err());
        for index in [0, 1, 3, 4] {
            let rx: u64 = parse_decimal(value(&rows[index], "rx-byte")).unwrap();
            assert!(rx > u64::from(u32::MAX), "row {index}: {rx}");
        }
    }

    #[test]
    fn monitor_row_agrees_with_counters() {
        let mut router = Router::new(4, START);
        let before = router.counters(0, START + 10.0).unwrap();
        let after = router.counters(0, START + 11.0).unwrap();
        let row = router.monitor_row(0, START + 11.0).unwrap();
        let rx: u64 = parse_decimal(value(&row, "rx-bits-per-second")).unwrap();
        let tx: u64 = parse_decimal(value(&row, "tx-bits-per-second")).unwrap();
        assert_eq!(rx, (after.rx - before.rx) * 8);
        assert_eq!(tx, (after.tx - before.tx) * 8);
        assert_eq!(row.len(), 14);
        assert_eq!(value(&row, "name"), b"ether1");
    }

    #[test]
    fn reboot_and_reset() {
        let mut router = Router::new(1, START);
        router.reset(1, START + 100.0);
        assert_eq!(router.counters(1, START + 100.0), Some(Bytes::default()));
        assert!(router.counters(0, START + 100.0).unwrap().rx > 1 << 40);
        assert_eq!(router.uptime(START + 100.0), 100);
        router.reboot(START + 200.0);
        assert_eq!(router.uptime(START + 200.5), 0);
        assert_eq!(router.counters(0, START + 200.0), Some(Bytes::default()));
        assert_eq!(
            value(&router.resource_row(START + 452.0), "uptime"),
            b"4m12s"
        );
        assert_eq!(router.find(b"*5"), Some(4));
        assert_eq!(router.find(b"wlan1"), Some(4));
        assert_eq!(router.find(b"wlan2"), None);
    }

    #[test]
    fn interfaces_are_removed_recreated_and_renamed() {
        let mut router = Router::new(1, START);
        assert!(router.remove("ether2"));
        assert!(!router.remove("ether2"));
        assert_eq!(router.find(b"ether2"), None);
        assert_eq!(router.epoch(b"*2"), None);
        assert!(router.recreate("ether2", START + 50.0));
        assert!(!router.recreate("ether2", START + 50.0));
        let index = router.find(b"ether2").unwrap();
        assert_eq!(router.find(b"*6"), Some(index), "a new .id");
        assert_eq!(router.epoch(b"*6"), Some(1));
        assert!(router.counters(index, START + 50.0).unwrap().rx == 0);
        let before = router.counters(0, START + 60.0).unwrap();
        assert!(router.rename("ether1", "wan"));
        assert!(!router.rename("wan", "ether3"), "taken");
        assert_eq!(router.find(b"ether1"), None);
        assert_eq!(router.find(b"wan"), Some(0));
        assert_eq!(router.find(b"*1"), Some(0));
        assert!(router.counters(0, START + 60.0).unwrap() == before);
        assert_eq!(router.epoch(b"*1"), Some(0));
        router.reset(0, START + 61.0);
        assert_eq!(router.epoch(b"*1"), Some(1));
    }
}
