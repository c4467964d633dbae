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
//! - The rate of a span is Δbytes × 8 / Δt of its two counter readings.
//!   With `monitor-traffic`, a reading's rate covers the second before it.
//! - A span longer than [`GAP`] (a reconnect, a slow router) is backfilled
//!   with its average rate when the counters prove continuity: same
//!   interface id, no counter went down, the router did not reboot, and the
//!   wall clock did not step meanwhile. Otherwise the span is unknown and
//!   the event says why.
//! - The file gets one line per whole wall-clock second (a run of unknown
//!   seconds takes one line), written once the spans reach the end of that
//!   second. A second is known when more than half of it lies in measured
//!   spans, and then holds the average rate of those spans over its
//!   measured part; otherwise it is unknown. So over seconds wholly
//!   measured the RRD's integral is exactly the bytes counted, an unknown
//!   run covers the seconds that were mostly unmeasured, and at each edge of
//!   it at most half a second is given up or filled in. Lines at whole
//!   seconds are also what librrd records exactly: it counts unknown time
//!   only in whole seconds between updates, and fills the second that holds
//!   a fractional update from its known part (see `unknown_line`).
//! - No line is ever stamped at or before the file's last update. Spans that
//!   cannot be stamped after it are held (up to [`MAX_PENDING`] pieces), and
//!   dropped as lost once a later span has to be written past them. A file
//!   just opened (or after a failed write) tells its last update as librrd
//!   reports it, the whole second, without a fraction: lines are at whole
//!   seconds, so the first one is after it anyway, and the second right
//!   after it (a restart's first, just after the previous run's last
//!   write) is written from what was measured in it, like any other. Only
//!   a file another program last updated at a fraction has its real last
//!   update inside that second: an unknown run starting there closes that
//!   second on its own line (see `unknown_line`).
//! - Nothing is considered written until the caller says the write
//!   succeeded ([`Tracker::written`]); after a failed write the same lines
//!   come again, after [`Tracker::resync`] with the file's real last update.
//!
//! This module does no I/O and reads no clock.

use std::collections::VecDeque;

/// Spans up to this long are ordinary samples (well inside the RRD
/// heartbeat of 3 s); longer ones are gaps, backfilled or left unknown.
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
/// Stamps are rounded to microseconds; closer than this is the same time.
const SAME: f64 = 2e-6;

/// How far measured time may reach back behind the file's last update
/// without counting as lost: wall minus monotonic time is read anew for
/// each write, and moves by microseconds between two clock reads and by up
/// to half a millisecond a second while NTP slews the clock. Time that
/// little behind was written already, under the previous mapping.
const MAPPING_JITTER: f64 = 1e-3;

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
    /// happened in it (only its last second, the reading's own rate, is
    /// known).
    GapWithoutCounters {
        /// Length of the unknown span.
        seconds: f64,
    },
}

/// One RRD update: a stamp and the two rates (`None` is unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// Wall-clock Unix time: a whole second.
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
    /// Seconds of backfilled gaps these lines hold.
    pub backfilled: f64,
    /// Seconds written as unknown.
    pub unknown: f64,
    /// Seconds of held spans that can never be written because these lines
    /// go past them.
    pub lost: f64,
    /// Measured time given up: the measured part of seconds written as
    /// unknown (less than half of each).
    pub trimmed: f64,
    /// How many pending pieces end before the plan's first second (held
    /// ones overtaken).
    skipped: usize,
    /// The wall-clock time the lines reach, if any.
    end: Option<f64>,
    /// Wall minus monotonic time the plan was made with.
    offset: f64,
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
    /// Measured time given up next to unknown time.
    pub trimmed: f64,
}

/// A span on the monotonic axis with one rate (or unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    from: f64,
    to: f64,
    rates: Option<(f64, f64)>,
    /// Part of a gap longer than [`GAP`] (counted as backfill).
    gap: bool,
}

/// A piece stamped on the wall clock, cut to start after the file.
#[derive(Clone, Copy, Debug)]
struct Segment {
    from: f64,
    to: f64,
    rates: Option<(f64, f64)>,
    gap: bool,
}

/// The state of one monitored interface.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    previous: Option<Reading>,
    pending: VecDeque<Piece>,
    /// The file's last update; `None` while the file is not ready.
    last: Option<f64>,
    /// `last` is as the file reported it, in whole seconds, not the end of
    /// a write of ours: the file's real last update may lie up to a second
    /// later (written at a fraction by another program).
    reported: bool,
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

    /// The file is ready for writing, and this is its last update as the
    /// file reports it (`store::open`): librrd's whole second, which the
    /// real last update may exceed by a fraction if another program wrote
    /// it. The second after it is written from what was measured in it.
    pub fn file_ready(&mut self, last_update: f64) {
        self.last = Some(last_update);
        self.reported = true;
    }

    /// The file cannot be written any more (it vanished or broke): hold
    /// everything until [`Tracker::file_ready`] is called again.
    pub fn file_gone(&mut self) {
        self.last = None;
    }

    /// After a failed write: the file's last update as the file says it
    /// (librrd's whole second, as for [`Tracker::file_ready`]). Pieces that
    /// end at or before it are taken as written.
    pub fn resync(&mut self, last_update: f64, offset: f64) {
        self.last = Some(last_update);
        self.reported = true;
        self.cut(last_update - offset);
    }

    /// The file's last update as far as this tracker knows.
    pub fn last_update(&self) -> Option<f64> {
        self.last
    }

    /// The rates (bit/s) of the latest span, when known.
    pub fn latest_rates(&self) -> Option<(f64, f64)> {
        self.latest
    }

    /// Whether a reading has been taken (the next one measures a span).
    pub fn has_reading(&self) -> bool {
        self.previous.is_some()
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
    /// since the previous one. A first `monitor-traffic` reading is a span
    /// of its own (the second before it); a first counter reading is the
    /// baseline the next one is measured from.
    pub fn observe(&mut self, reading: Reading) -> Option<Event> {
        let Some(previous) = self.previous.take() else {
            if let Value::Rates { rx_bps, tx_bps } = reading.value {
                self.latest = Some((rx_bps, tx_bps));
                self.push(
                    reading.mono - 1.0,
                    reading.mono,
                    Some((rx_bps, tx_bps)),
                    false,
                );
            }
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
        match (event.is_none(), reading.value) {
            // monitor-traffic after a gap: the reading's rate still covers
            // its own second.
            (false, Value::Rates { rx_bps, tx_bps }) if seconds > 1.0 => {
                self.push(previous.mono, reading.mono - 1.0, None, false);
                self.push(
                    reading.mono - 1.0,
                    reading.mono,
                    Some((rx_bps, tx_bps)),
                    false,
                );
                self.latest = Some((rx_bps, tx_bps));
            }
            _ => self.push(previous.mono, reading.mono, rates, seconds > GAP),
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
    /// now, at most `max_lines` of them (one at least; one more when an
    /// unknown run starts at a reported last update). Empty while the file
    /// is not ready, or while every pending span would be stamped at or
    /// before its last update, or while no whole second after it is
    /// covered yet.
    pub fn plan(&self, offset: f64, max_lines: usize) -> Plan {
        let mut plan = Plan {
            offset,
            ..Plan::default()
        };
        let Some(last) = self.last else {
            return plan;
        };
        let Some(first) = self
            .pending
            .iter()
            .position(|p| stamp(p.to + offset) > last + SAME)
        else {
            return plan;
        };
        plan.skipped = first;
        // Measured time stamped at or before the file's last update: lost.
        let mut behind = |from: f64, to: f64| {
            let (from, to) = (stamp(from + offset), stamp(to + offset).min(last));
            if to - from > MAPPING_JITTER {
                plan.lost += to - from;
            }
        };
        for piece in self.pending.iter().take(first) {
            behind(piece.from, piece.to);
        }
        if let Some(head) = self.pending.get(first) {
            behind(head.from, head.to);
        }
        let segments: Vec<Segment> = self
            .pending
            .iter()
            .skip(first)
            .map(|p| Segment {
                from: stamp(p.from + offset).max(last),
                to: stamp(p.to + offset),
                rates: p.rates,
                gap: p.gap,
            })
            .collect();
        let covered = segments.last().map_or(last, |s| s.to);
        // The file's real last update may lie within the second after a
        // reported one (see `unknown_line`).
        let fraction_after = |from: f64| self.reported && from == last;
        let mut cursor = last;
        // A run of unknown seconds not written yet: where it starts.
        let mut unknown_from: Option<f64> = None;
        let mut index = 0;
        loop {
            let lines = plan.lines.len() + usize::from(unknown_from.is_some());
            if lines >= max_lines.max(1) {
                break;
            }
            // The next whole second; a fraction of a second left after a
            // fractional last update joins it.
            let second = (cursor + CONTIGUOUS).floor() + 1.0;
            if second > covered + SAME {
                break;
            }
            while segments.get(index).is_some_and(|s| s.to <= cursor + SAME) {
                index += 1;
            }
            // Whole seconds that nothing measured: one step.
            let unmeasured = unmeasured_until(&segments[index..], cursor).min(covered);
            let target = unmeasured.floor();
            if target >= second {
                plan.unknown += target - cursor;
                unknown_from.get_or_insert(cursor);
                cursor = target;
                continue;
            }
            let mut known = 0.0;
            let (mut rx, mut tx, mut gap) = (0.0, 0.0, 0.0);
            for segment in &segments[index..] {
                if segment.from >= second {
                    break;
                }
                let overlap = segment.to.min(second) - segment.from.max(cursor);
                if let (Some((r, t)), true) = (segment.rates, overlap > 0.0) {
                    known += overlap;
                    rx += r * overlap;
                    tx += t * overlap;
                    if segment.gap {
                        gap += overlap;
                    }
                }
            }
            let length = second - cursor;
            if known > length / 2.0 {
                if let Some(from) = unknown_from.take() {
                    unknown_line(&mut plan.lines, from, cursor, fraction_after(from));
                }
                plan.lines.push(Line {
                    at: second,
                    rx: Some(rx / known),
                    tx: Some(tx / known),
                });
                plan.backfilled += gap;
            } else {
                plan.unknown += length;
                plan.trimmed += known;
                unknown_from.get_or_insert(cursor);
            }
            cursor = second;
        }
        if let Some(from) = unknown_from {
            unknown_line(&mut plan.lines, from, cursor, fraction_after(from));
        }
        if !plan.lines.is_empty() {
            plan.end = Some(cursor);
        }
        plan
    }

    /// The plan's lines were written: forget what they cover.
    pub fn written(&mut self, plan: &Plan) -> Written {
        if let Some(end) = plan.end {
            self.pending.drain(..plan.skipped.min(self.pending.len()));
            self.cut(end - plan.offset);
            self.last = Some(end);
            self.reported = false;
        }
        Written {
            lines: plan.lines.len(),
            backfilled: plan.backfilled,
            unknown: plan.unknown,
            lost: plan.lost + std::mem::take(&mut self.dropped),
            trimmed: plan.trimmed,
        }
    }

    /// Forgets the pending time up to `mono`, cutting the piece that holds
    /// it.
    fn cut(&mut self, mono: f64) {
        while let Some(piece) = self.pending.front_mut() {
            if piece.to <= mono + SAME {
                self.pending.pop_front();
            } else {
                piece.from = piece.from.max(mono);
                break;
            }
        }
    }

    /// Queues the span (from, to] in pieces of at most [`MAX_PIECE`].
    fn push(&mut self, mut from: f64, to: f64, rates: Option<(f64, f64)>, gap: bool) {
        while from < to {
            let end = (from + MAX_PIECE).min(to);
            self.pending.push_back(Piece {
                from,
                to: end,
                rates,
                gap,
            });
            from = end;
        }
    }
}

/// How far from `cursor` on nothing is measured: through unknown segments
/// and time no segment covers, up to the first known segment.
fn unmeasured_until(segments: &[Segment], cursor: f64) -> f64 {
    let mut until = cursor;
    for segment in segments {
        if segment.rates.is_some() {
            return until.max(segment.from);
        }
        until = until.max(segment.to);
    }
    f64::INFINITY
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
                return unknown(Event::GapWithoutCounters {
                    seconds: seconds - 1.0,
                });
            }
            (Some((rx_bps, tx_bps)), None)
        }
        // The source changed kind: nothing connects the two readings.
        (Value::Rates { .. }, Value::Counters { .. }) => (None, None),
    }
}

/// Appends the lines that make (from, to] unknown; `to` is a whole second.
/// `fraction_after`: the file's real last update may lie in the second
/// after `from` (`from` is a last update as librrd reported it, which
/// drops the fraction).
///
/// librrd 1.7 counts an unknown update only in whole seconds of the time
/// between two updates, and fills the second that holds a fractional last
/// update from its known part, together with every second up to an
/// update less than a heartbeat later. So a run that starts at a fraction
/// (a file last written by another program) first closes that second on
/// its own; from a whole second one line covers the run.
fn unknown_line(lines: &mut Vec<Line>, from: f64, to: f64, fraction_after: bool) {
    let unknown = |at| Line {
        at,
        rx: None,
        tx: None,
    };
    let whole = (from + SAME).floor() + 1.0;
    let fractional = from.ceil() - from > SAME;
    if (fractional || fraction_after) && whole < to - SAME {
        lines.push(unknown(whole));
    }
    lines.push(unknown(to));
}

/// A wall-clock stamp rounded to the microseconds an update line carries.
fn stamp(at: f64) -> f64 {
    (at * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests;
