//! The collector's decisions for one interface, as plain functions of the
//! readings it is given: which rate covers which span of time, whether a
//! gap may be backfilled, what is lost and why, and which RRD update lines
//! to write now.
//!
//! Time comes in with each [`Reading`] as two clocks: the monotonic clock,
//! which never jumps and measures every duration and rate, and the wall
//! clock, which only stamps the RRD lines. Spans are kept on the monotonic
//! axis ([`Piece`]) and turned into wall-clock stamps at the moment they are
//! written, with the offset between the two clocks at that moment. So a
//! span measured while the wall clock was wrong (a Raspberry Pi boots
//! without a real-time clock) is stamped correctly once NTP has stepped the
//! clock, as long as it is still held.
//!
//! The rules (see `ARCHITECTURE.md`, collector invariants):
//! - The rate of a span is Δbytes × 8 / Δt of its two counter readings,
//!   written as a GAUGE value stamped at the end of the span, so that the
//!   RRD's integral over the span is exactly the bytes counted.
//! - A span longer than [`GAP`] (a reconnect, a slow router) is backfilled
//!   second by second with its average rate when the counters prove
//!   continuity: same interface id, no counter went down, the router did
//!   not reboot, and the wall clock did not step meanwhile. Otherwise the
//!   span is written as unknown and the event says why.
//! - No line is ever stamped at or before the file's last update. Spans that
//!   cannot be stamped after it are held (up to [`MAX_PENDING`] pieces), and
//!   dropped as lost once a later span has to be written past them.
//! - Unknown time (an unprovable span, or time nothing covers) is written
//!   widened to whole seconds, the only unit in which librrd records unknown
//!   time ([`unknown_until`]); known time that the widening covers is given
//!   up, never spread elsewhere.
//! - Nothing is considered written until the caller says the write
//!   succeeded ([`Tracker::written`]); after a failed write the same lines
//!   come again, after [`Tracker::resync`] with the file's real last update.
//!
//! This module does no I/O and reads no clock.

use std::collections::VecDeque;

/// Spans up to this long are written as one line (well inside the RRD
/// heartbeat of 3 s); longer ones are gaps, backfilled second by second.
pub const GAP: f64 = 2.0;
/// A change of the wall-minus-monotonic offset above this is a clock step.
/// NTP slewing changes it by at most 0.5 ms per second.
pub const STEP_TOLERANCE: f64 = 1.0;
/// Router boot times (monotonic time minus uptime) further apart than this
/// mean a reboot. Uptime has a resolution of 1 s, plus the round trip.
pub const REBOOT_TOLERANCE: f64 = 5.0;
/// Long spans are cut into pieces of at most this many seconds, so that one
/// write stays bounded and a failure loses little progress.
pub const MAX_PIECE: f64 = 3600.0;
/// At most this many pieces wait to be written (an hour of per-second
/// samples, or longer of backfill); older ones are dropped as lost.
pub const MAX_PENDING: usize = 3600;
/// Stamps closer than this to the file's last update count as equal to it.
const CONTIGUOUS: f64 = 0.01;

/// One reading of an interface, with the two clocks at the moment its reply
/// arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// Monotonic time in seconds (any fixed origin).
    pub mono: f64,
    /// Wall-clock Unix time in seconds.
    pub wall: f64,
    /// When the router booted, on the monotonic axis (reading time minus
    /// uptime), if known.
    pub boot: Option<f64>,
    /// The router's internal id of the interface (`.id`), if known.
    pub id: Option<String>,
    /// What was read.
    pub value: Value,
}

/// The two kinds of source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// The 64-bit byte counters (the default source).
    Counters {
        /// Received bytes.
        rx_bytes: u64,
        /// Sent bytes.
        tx_bytes: u64,
    },
    /// The router's own `monitor-traffic` rates, in bit/s.
    Rates {
        /// Received bits per second.
        rx_bps: f64,
        /// Sent bits per second.
        tx_bps: f64,
    },
}

/// Something the log should say about an interface.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A counter went down: the counters were reset (or the router
    /// rebooted). The span stays unknown.
    CounterWentDown {
        /// Length of the unknown span.
        seconds: f64,
    },
    /// The router's boot time changed. The span stays unknown.
    Rebooted {
        /// Length of the unknown span.
        seconds: f64,
    },
    /// The interface's id changed (deleted and re-created). The span stays
    /// unknown.
    Replaced {
        /// Length of the unknown span.
        seconds: f64,
    },
    /// A gap during which the wall clock stepped: not backfilled.
    GapAcrossClockStep {
        /// Length of the unknown span.
        seconds: f64,
    },
    /// A gap with `monitor-traffic` as the source, which cannot prove what
    /// happened in it.
    GapWithoutCounters {
        /// Length of the unknown span.
        seconds: f64,
    },
}

/// One RRD update: a stamp and the two rates (`None` is unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// Wall-clock Unix time, rounded to microseconds.
    pub at: f64,
    /// Received bit/s.
    pub rx: Option<f64>,
    /// Sent bit/s.
    pub tx: Option<f64>,
}

/// What to write now, and what it will mean once written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The lines, in increasing time order.
    pub lines: Vec<Line>,
    /// Seconds these lines fill in second by second (backfill).
    pub backfilled: f64,
    /// Seconds written as unknown (spans whose continuity is not proven).
    pub unknown: f64,
    /// Seconds of held spans that can never be written because these lines
    /// go past them.
    pub lost: f64,
    /// Fractions of seconds of known spans given up because unknown time
    /// next to them is written in whole seconds.
    pub trimmed: f64,
    /// How many pending pieces the plan covers (skipped ones included).
    pieces: usize,
}

/// What a successful write changed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Written {
    /// Lines written.
    pub lines: usize,
    /// Seconds backfilled.
    pub backfilled: f64,
    /// Seconds written as unknown.
    pub unknown: f64,
    /// Seconds lost (held spans overtaken, or pieces dropped for room).
    pub lost: f64,
    /// Fractions of seconds given up next to unknown time.
    pub trimmed: f64,
}

/// A span on the monotonic axis with one rate (or unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    from: f64,
    to: f64,
    rates: Option<(f64, f64)>,
}

/// The state of one monitored interface.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    previous: Option<Reading>,
    pending: VecDeque<Piece>,
    /// The file's last update; `None` while the file is not ready.
    last: Option<f64>,
    /// Seconds dropped for room since the last successful write.
    dropped: f64,
    /// The rates of the latest span, if known.
    latest: Option<(f64, f64)>,
}

impl Tracker {
    /// A tracker with no reading yet and no file.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// The file is ready for writing, and this is its last update.
    pub fn file_ready(&mut self, last_update: f64) {
        self.last = Some(last_update);
    }

    /// The file cannot be written any more (it vanished or broke): hold
    /// everything until [`Tracker::file_ready`] is called again.
    pub fn file_gone(&mut self) {
        self.last = None;
    }

    /// After a failed write: the file's last update as the file says it.
    /// Pieces that end at or before it are taken as written.
    pub fn resync(&mut self, last_update: f64, offset: f64) {
        self.last = Some(last_update);
        while let Some(piece) = self.pending.front_mut() {
            if piece.to + offset <= last_update + CONTIGUOUS {
                self.pending.pop_front();
            } else {
                if piece.from + offset < last_update {
                    piece.from = last_update - offset;
                }
                break;
            }
        }
    }

    /// The file's last update as far as this tracker knows.
    pub fn last_update(&self) -> Option<f64> {
        self.last
    }

    /// The rates (bit/s) of the latest span, when known.
    pub fn latest_rates(&self) -> Option<(f64, f64)> {
        self.latest
    }

    /// The wall-clock time the oldest held span starts at, with `offset`
    /// = wall minus monotonic time now; a new file must start before it.
    pub fn held_since(&self, offset: f64) -> Option<f64> {
        self.pending.front().map(|p| p.from + offset)
    }

    /// Seconds waiting to be written.
    pub fn pending_seconds(&self) -> f64 {
        self.pending.iter().map(|p| p.to - p.from).sum()
    }

    /// Takes a reading; returns what the log should say about the span
    /// since the previous one.
    pub fn observe(&mut self, reading: Reading) -> Option<Event> {
        let Some(previous) = self.previous.take() else {
            self.previous = Some(reading);
            return None;
        };
        let seconds = reading.mono - previous.mono;
        if seconds <= 0.0 {
            self.previous = Some(previous);
            return None;
        }
        let (rates, event) = span(&previous, &reading, seconds);
        self.latest = rates;
        let mut from = previous.mono;
        while from < reading.mono {
            let to = (from + MAX_PIECE).min(reading.mono);
            self.pending.push_back(Piece { from, to, rates });
            from = to;
        }
        while self.pending.len() > MAX_PENDING {
            if let Some(piece) = self.pending.pop_front() {
                self.dropped += piece.to - piece.from;
            }
        }
        self.previous = Some(reading);
        event
    }

    /// The lines to write now, with `offset` = wall minus monotonic time
    /// now, at most about `max_lines` of them (whole pieces, one piece at
    /// least). Empty while the file is not ready, or while every pending
    /// span would be stamped at or before its last update.
    pub fn plan(&self, offset: f64, max_lines: usize) -> Plan {
        let mut plan = Plan::default();
        let Some(mut last) = self.last else {
            return plan;
        };
        let Some(first) = self
            .pending
            .iter()
            .position(|p| stamp(p.to + offset) > last + CONTIGUOUS)
        else {
            return plan;
        };
        plan.lost = self.pending.iter().take(first).map(|p| p.to - p.from).sum();
        plan.pieces = first;
        for piece in self.pending.iter().skip(first) {
            if !plan.lines.is_empty() && plan.lines.len() >= max_lines {
                break;
            }
            plan.pieces += 1;
            let mut from = stamp(piece.from + offset);
            let to = stamp(piece.to + offset);
            let Some((rx, tx)) = piece.rates else {
                let end = to.ceil();
                if end > last + CONTIGUOUS {
                    plan.unknown += end - last.max(from);
                    unknown_until(&mut plan.lines, last, end);
                    last = end;
                }
                continue;
            };
            if (from - last).abs() < CONTIGUOUS {
                from = last;
            } else if from > last {
                // Nothing covers (last, from]: it becomes unknown, widened to
                // whole seconds, and the piece gives up what that covers.
                let end = from.ceil();
                unknown_until(&mut plan.lines, last, end);
                last = end;
            }
            if from < last {
                plan.trimmed += (last - from).min(to - from);
                from = last;
            }
            if to <= from + CONTIGUOUS {
                continue;
            }
            let (rx, tx) = (Some(rx), Some(tx));
            if to - from > GAP {
                let mut second = from.floor() + 1.0;
                while second < to - CONTIGUOUS {
                    plan.lines.push(Line { at: second, rx, tx });
                    second += 1.0;
                }
                plan.backfilled += to - from;
            }
            plan.lines.push(Line { at: to, rx, tx });
            last = to;
        }
        plan
    }

    /// The plan's lines were written: forget what they cover.
    pub fn written(&mut self, plan: &Plan) -> Written {
        self.pending.drain(..plan.pieces.min(self.pending.len()));
        if let Some(line) = plan.lines.last() {
            self.last = Some(line.at);
        }
        Written {
            lines: plan.lines.len(),
            backfilled: plan.backfilled,
            unknown: plan.unknown,
            lost: plan.lost + std::mem::take(&mut self.dropped),
            trimmed: plan.trimmed,
        }
    }
}

/// The rates of the span between two readings, or unknown with the reason.
fn span(
    previous: &Reading,
    reading: &Reading,
    seconds: f64,
) -> (Option<(f64, f64)>, Option<Event>) {
    let unknown = |event| (None, Some(event));
    if let (Some(a), Some(b)) = (previous.boot, reading.boot) {
        if (a - b).abs() > REBOOT_TOLERANCE {
            return unknown(Event::Rebooted { seconds });
        }
    }
    if let (Some(a), Some(b)) = (&previous.id, &reading.id) {
        if a != b {
            return unknown(Event::Replaced { seconds });
        }
    }
    let stepped =
        ((reading.wall - reading.mono) - (previous.wall - previous.mono)).abs() > STEP_TOLERANCE;
    match (previous.value, reading.value) {
        (
            Value::Counters {
                rx_bytes: rx0,
                tx_bytes: tx0,
            },
            Value::Counters {
                rx_bytes: rx1,
                tx_bytes: tx1,
            },
        ) => {
            let (Some(rx), Some(tx)) = (rx1.checked_sub(rx0), tx1.checked_sub(tx0)) else {
                return unknown(Event::CounterWentDown { seconds });
            };
            if seconds > GAP && stepped {
                return unknown(Event::GapAcrossClockStep { seconds });
            }
            (
                Some((rx as f64 * 8.0 / seconds, tx as f64 * 8.0 / seconds)),
                None,
            )
        }
        (_, Value::Rates { rx_bps, tx_bps }) => {
            if seconds > GAP {
                return unknown(Event::GapWithoutCounters { seconds });
            }
            (Some((rx_bps, tx_bps)), None)
        }
        // The source changed kind: nothing connects the two readings.
        (Value::Rates { .. }, Value::Counters { .. }) => (None, None),
    }
}

/// Appends the lines that make (last, end] unknown, `end` a whole second.
///
/// librrd 1.7 counts an unknown update only in whole seconds of the time
/// between two updates: an unknown line at a fraction of a second leaves
/// the seconds around it filled from their known fractions (and counts the
/// unknown fraction of the next second as zero). So unknown time is written
/// up to whole seconds: the second that holds `last` keeps its known part
/// (a line at its end), every whole second after it up to `end` is
/// unknown.
fn unknown_until(lines: &mut Vec<Line>, last: f64, end: f64) {
    let unknown = |at| Line {
        at,
        rx: None,
        tx: None,
    };
    let first = last.floor() + 1.0;
    if first < end - CONTIGUOUS {
        lines.push(unknown(first));
    }
    lines.push(unknown(end));
}

/// A wall-clock stamp rounded to the microseconds an update line carries.
fn stamp(at: f64) -> f64 {
    (at * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests;
