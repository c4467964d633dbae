//! The simulated traffic: how many bytes each interface moves in each whole
//! second, and byte counters that agree with those amounts exactly.
//!
//! Traffic is a pure function of the seed, the interface's [`Profile`] and
//! the whole second `k = floor(t)` of Unix time: a daily rhythm (a cosine
//! over the seconds of the UTC day, lowest at 04:00), bursts of tens of
//! seconds and per-second noise. A [`Counter`] at time `t` is its base plus
//! the bytes of every whole second since its last reset plus the elapsed
//! fraction of the current second, so over any whole second `[k, k + 1]`
//! the counter grows by exactly the bytes of second `k`, and the rate that
//! `monitor-traffic` reports at `k + 1` is eight times that.
//!
//! This module does no I/O and reads no clock: time is always an argument.
//! It knows no time zone (the "day" is the UTC day) and nothing about
//! interface names or the wire format.

/// The traffic shape of one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// A busy uplink: tens of Mbit/s down, a few Mbit/s up.
    Wan,
    /// A quiet wired LAN port: kbit/s to a few Mbit/s.
    Lan,
    /// A wireless interface, a little busier than the LAN port.
    Wireless,
    /// A bridge over the LAN port and the wireless interface: their exact sum.
    Bridge,
    /// A disabled interface: always zero.
    Off,
}

/// Bytes moved by an interface in one whole second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bytes {
    /// Received bytes.
    pub rx: u64,
    /// Transmitted bytes.
    pub tx: u64,
}

/// A pair of byte counters (received, transmitted) with an incremental sum.
///
/// The value at time `t` is `base + S(t) - S(reset)`, where `S(t)` is the
/// sum of the bytes of every whole second before `floor(t)` plus
/// `floor(frac(t) * bytes(floor(t)))`. The counter caches the sum of whole
/// seconds up to the last second it was asked about, so a clock that only
/// moves forward costs one step per elapsed second (about a second of CPU
/// per simulated month and interface in a debug build); a clock that moves
/// backwards makes it sum again from the reset second.
#[derive(Clone, Debug)]
pub(crate) struct Counter {
    base: Bytes,
    /// The time of the last reset (or of the start).
    since: f64,
    /// `floor(since)`.
    first_second: i64,
    /// The part of `first_second` that had already passed at `since`.
    head: Bytes,
    /// Whole seconds `first_second .. summed_to` are summed in `sum`.
    summed_to: i64,
    sum: Bytes,
}

/// The parameters of one traffic shape.
struct Shape {
    /// Distinguishes the random streams of different shapes.
    salt: u64,
    /// Received bits per second at the daily peak, before bursts and noise.
    rx_peak: f64,
    /// Transmitted bits per second at the daily peak.
    tx_peak: f64,
    /// The night-time level as a fraction of the peak.
    floor: f64,
    /// The chance that a two-minute window holds a burst.
    burst_chance: f64,
    /// The largest factor a burst multiplies the traffic by.
    burst_gain: f64,
    /// The per-second noise, as a fraction (0.1 is plus or minus 10 %).
    noise: f64,
}

/// The bytes an interface with `profile` moves in whole second `second`.
pub(crate) fn second_bytes(seed: u64, profile: Profile, second: i64) -> Bytes {
    match profile {
        Profile::Wan => shaped(seed, &WAN, second),
        Profile::Lan => shaped(seed, &LAN, second),
        Profile::Wireless => shaped(seed, &WIRELESS, second),
        Profile::Bridge => {
            let lan = shaped(seed, &LAN, second);
            let wireless = shaped(seed, &WIRELESS, second);
            Bytes {
                rx: lan.rx + wireless.rx,
                tx: lan.tx + wireless.tx,
            }
        }
        Profile::Off => Bytes::default(),
    }
}

/// The rates `monitor-traffic` reports at time `t`, in bits per second:
/// eight times the bytes of the last complete second, `floor(t) - 1`.
pub(crate) fn rates_at(seed: u64, profile: Profile, t: f64) -> Bytes {
    let bytes = second_bytes(seed, profile, whole_second(t).saturating_sub(1));
    Bytes {
        rx: bytes.rx * 8,
        tx: bytes.tx * 8,
    }
}

/// The average packet size (received, transmitted) used to turn bytes into
/// packets for `profile`.
pub(crate) fn packet_size(profile: Profile) -> Bytes {
    match profile {
        Profile::Wan => Bytes { rx: 1200, tx: 300 },
        Profile::Lan | Profile::Bridge | Profile::Off => Bytes { rx: 700, tx: 500 },
        Profile::Wireless => Bytes { rx: 900, tx: 400 },
    }
}

/// `floor(t)` as a whole second; NaN counts as second 0 and out-of-range
/// values saturate.
pub(crate) fn whole_second(t: f64) -> i64 {
    t.floor() as i64
}

impl Counter {
    /// A counter that reads `base` at time `since`.
    pub(crate) fn new(seed: u64, profile: Profile, base: Bytes, since: f64) -> Counter {
        let first_second = whole_second(since);
        Counter {
            base,
            since,
            first_second,
            head: partial(seed, profile, since),
            summed_to: first_second,
            sum: Bytes::default(),
        }
    }

    /// The counter values at time `t`. Before the reset time it reads its
    /// base. Saturates instead of wrapping (which would take centuries).
    pub(crate) fn at(&mut self, seed: u64, profile: Profile, t: f64) -> Bytes {
        if t.is_nan() || t <= self.since {
            return self.base;
        }
        let second = whole_second(t);
        if second < self.summed_to {
            self.summed_to = self.first_second;
            self.sum = Bytes::default();
        }
        while self.summed_to < second {
            let bytes = second_bytes(seed, profile, self.summed_to);
            self.sum.rx = self.sum.rx.saturating_add(bytes.rx);
            self.sum.tx = self.sum.tx.saturating_add(bytes.tx);
            self.summed_to += 1;
        }
        let tail = partial(seed, profile, t);
        Bytes {
            rx: self.base.rx.saturating_add(
                self.sum
                    .rx
                    .saturating_add(tail.rx)
                    .saturating_sub(self.head.rx),
            ),
            tx: self.base.tx.saturating_add(
                self.sum
                    .tx
                    .saturating_add(tail.tx)
                    .saturating_sub(self.head.tx),
            ),
        }
    }
}

/// The bytes of second `floor(t)` that have passed by time `t`, rounded down.
fn partial(seed: u64, profile: Profile, t: f64) -> Bytes {
    if t.is_nan() {
        return Bytes::default();
    }
    let second = whole_second(t);
    let fraction = (t - t.floor()).clamp(0.0, 1.0);
    let bytes = second_bytes(seed, profile, second);
    Bytes {
        rx: (bytes.rx as f64 * fraction) as u64,
        tx: (bytes.tx as f64 * fraction) as u64,
    }
}

const WAN: Shape = Shape {
    salt: 0x5741_4e00,
    rx_peak: 48e6,
    tx_peak: 5e6,
    floor: 0.25,
    burst_chance: 0.25,
    burst_gain: 2.0,
    noise: 0.12,
};

const LAN: Shape = Shape {
    salt: 0x4c41_4e00,
    rx_peak: 1.2e6,
    tx_peak: 0.6e6,
    floor: 0.05,
    burst_chance: 0.15,
    burst_gain: 3.0,
    noise: 0.3,
};

const WIRELESS: Shape = Shape {
    salt: 0x574c_414e,
    rx_peak: 2.5e6,
    tx_peak: 0.4e6,
    floor: 0.1,
    burst_chance: 0.2,
    burst_gain: 2.0,
    noise: 0.25,
};

/// Length of the windows in which at most one burst happens, in seconds.
const BURST_WINDOW: i64 = 120;

fn shaped(seed: u64, shape: &Shape, second: i64) -> Bytes {
    let level = shape.floor + (1.0 - shape.floor) * daily(second);
    let burst = burst(seed, shape, second);
    let noise =
        |lane: u64| 1.0 + shape.noise * (2.0 * unit(hash(seed, shape.salt, second, lane)) - 1.0);
    Bytes {
        rx: (shape.rx_peak / 8.0 * level * burst * noise(1)) as u64,
        tx: (shape.tx_peak / 8.0 * level * burst * noise(2)) as u64,
    }
}

/// The daily rhythm: 0 at 04:00 UTC, 1 at 16:00 UTC.
fn daily(second: i64) -> f64 {
    let of_day = second.rem_euclid(86_400) as f64;
    let phase = (of_day - 4.0 * 3600.0) / 86_400.0 * std::f64::consts::TAU;
    0.5 - 0.5 * phase.cos()
}

/// The burst factor for `second`: 1 outside bursts. A window of
/// [`BURST_WINDOW`] seconds holds a burst of 10 to 59 seconds with
/// probability `burst_chance`.
fn burst(seed: u64, shape: &Shape, second: i64) -> f64 {
    let window = second.div_euclid(BURST_WINDOW);
    let offset = second.rem_euclid(BURST_WINDOW);
    let draw = hash(seed, shape.salt, window, 10);
    if unit(draw) >= shape.burst_chance {
        return 1.0;
    }
    let start = (hash(seed, shape.salt, window, 11) % 60) as i64;
    let length = 10 + (hash(seed, shape.salt, window, 12) % 50) as i64;
    if offset < start || offset >= start + length {
        return 1.0;
    }
    1.3 + (shape.burst_gain - 1.3) * unit(hash(seed, shape.salt, window, 13))
}

/// The splitmix64 finaliser: a well-mixed 64-bit function of `z`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash(seed: u64, salt: u64, second: i64, lane: u64) -> u64 {
    mix(seed ^ mix(salt ^ mix(second as u64 ^ mix(lane))))
}

/// A hash as a number in `[0, 1)`.
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-06-01 12:00:00 UTC.
    const NOON: f64 = 1_717_243_200.0;

    #[test]
    fn counter_grows_by_the_reported_rate_over_every_whole_second() {
        for profile in [
            Profile::Wan,
            Profile::Lan,
            Profile::Wireless,
            Profile::Bridge,
        ] {
            let base = Bytes {
                rx: 5_000_000_000_000,
                tx: 7_000_000_000,
            };
            let mut counter = Counter::new(7, profile, base, NOON);
            let mut previous = counter.at(7, profile, NOON);
            assert_eq!(previous, base);
            for step in 1..=600 {
                let t = NOON + f64::from(step);
                let now = counter.at(7, profile, t);
                let rate = rates_at(7, profile, t);
                assert_eq!(
                    (now.rx - previous.rx) * 8,
                    rate.rx,
                    "{profile:?} at +{step} s"
                );
                assert_eq!(
                    (now.tx - previous.tx) * 8,
                    rate.tx,
                    "{profile:?} at +{step} s"
                );
                previous = now;
            }
        }
    }

    #[test]
    fn counter_is_monotonic_within_a_second_and_ends_at_the_whole_second_value() {
        let mut counter = Counter::new(1, Profile::Wan, Bytes::default(), NOON);
        let mut last = Bytes::default();
        for tenth in 0..=30 {
            let now = counter.at(1, Profile::Wan, NOON + f64::from(tenth) / 10.0);
            assert!(
                now.rx >= last.rx && now.tx >= last.tx,
                "went down at {tenth}"
            );
            last = now;
        }
        let whole: u64 = (0..3)
            .map(|k| second_bytes(1, Profile::Wan, NOON as i64 + k).rx)
            .sum();
        assert_eq!(last.rx, whole);
    }

    #[test]
    fn a_big_jump_and_a_jump_back_give_the_same_values_as_a_fresh_counter() {
        let base = Bytes {
            rx: 1 << 42,
            tx: 1 << 40,
        };
        let mut stepped = Counter::new(3, Profile::Lan, base, NOON);
        let far = NOON + 86_400.0 * 2.0 + 0.25;
        let at_far = stepped.at(3, Profile::Lan, far);
        let back = NOON + 100.5;
        let at_back = stepped.at(3, Profile::Lan, back);
        let mut fresh = Counter::new(3, Profile::Lan, base, NOON);
        assert_eq!(fresh.at(3, Profile::Lan, back), at_back);
        assert_eq!(fresh.at(3, Profile::Lan, far), at_far);
        assert!(at_far.rx > at_back.rx);
        assert_eq!(stepped.at(3, Profile::Lan, NOON - 50.0), base);
    }

    #[test]
    fn counters_start_beyond_32_bits_and_a_reset_starts_from_zero() {
        let base = Bytes {
            rx: 4_400_000_000_000,
            tx: 900_000_000_000,
        };
        let mut counter = Counter::new(1, Profile::Wan, base, NOON);
        assert!(counter.at(1, Profile::Wan, NOON + 10.0).rx > u64::from(u32::MAX));
        let mut reset = Counter::new(1, Profile::Wan, Bytes::default(), NOON + 10.0);
        assert_eq!(reset.at(1, Profile::Wan, NOON + 10.0), Bytes::default());
        let one_second = reset.at(1, Profile::Wan, NOON + 11.0);
        assert_eq!(one_second, second_bytes(1, Profile::Wan, NOON as i64 + 10));
    }

    #[test]
    fn a_reset_inside_a_second_counts_only_the_rest_of_that_second() {
        let since = NOON + 0.5;
        let mut counter = Counter::new(2, Profile::Wan, Bytes::default(), since);
        let bytes = second_bytes(2, Profile::Wan, NOON as i64);
        let at_end = counter.at(2, Profile::Wan, NOON + 1.0);
        assert_eq!(at_end.rx, bytes.rx - (bytes.rx as f64 * 0.5) as u64);
    }

    #[test]
    fn profiles_have_their_documented_ranges() {
        let day = NOON as i64;
        let night = day - 8 * 3600;
        let mean_rx_bits = |profile, from: i64| -> u64 {
            (from..from + 600)
                .map(|k| second_bytes(9, profile, k).rx * 8)
                .sum::<u64>()
                / 600
        };
        let wan_day = mean_rx_bits(Profile::Wan, day);
        let wan_night = mean_rx_bits(Profile::Wan, night);
        assert!((10_000_000..100_000_000).contains(&wan_day), "{wan_day}");
        assert!(wan_night < wan_day / 2, "{wan_night} vs {wan_day}");
        let wan_tx = (day..day + 600)
            .map(|k| second_bytes(9, Profile::Wan, k).tx * 8)
            .sum::<u64>()
            / 600;
        assert!((1_000_000..10_000_000).contains(&wan_tx), "{wan_tx}");
        let lan = mean_rx_bits(Profile::Lan, day);
        assert!((10_000..5_000_000).contains(&lan), "{lan}");
        assert_eq!(mean_rx_bits(Profile::Off, day), 0);
        let bridge = second_bytes(9, Profile::Bridge, day);
        let sum =
            second_bytes(9, Profile::Lan, day).rx + second_bytes(9, Profile::Wireless, day).rx;
        assert_eq!(bridge.rx, sum);
    }

    #[test]
    fn bursts_last_tens_of_seconds() {
        let start = NOON as i64;
        let in_burst: Vec<bool> = (start..start + 86_400)
            .map(|k| burst(5, &WAN, k) > 1.0)
            .collect();
        let mut runs = Vec::new();
        let mut run = 0;
        for &flag in &in_burst {
            match flag {
                true => run += 1,
                false if run > 0 => {
                    runs.push(run);
                    run = 0;
                }
                false => {}
            }
        }
        assert!(runs.len() > 20, "only {} bursts in a day", runs.len());
        assert!(runs.iter().all(|&r| (10..=60).contains(&r)), "{runs:?}");
    }

    #[test]
    fn traffic_depends_on_the_seed_and_is_repeatable() {
        let k = NOON as i64;
        assert_eq!(
            second_bytes(1, Profile::Wan, k),
            second_bytes(1, Profile::Wan, k)
        );
        assert_ne!(
            second_bytes(1, Profile::Wan, k),
            second_bytes(2, Profile::Wan, k)
        );
    }
}
