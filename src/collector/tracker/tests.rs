//! Tests of the tracker's decisions, driven with explicit clocks: the RRD's
//! integral over the written lines must equal the bytes counted wherever
//! continuity is provable, and be unknown where it is not. (`tests/tracker.rs`
//! checks the same rules on files written by librrd.)

use super::*;

/// Wall minus monotonic time in the tests' normal state.
const OFFSET: f64 = 1_700_000_000.0;

fn counters(mono: f64, rx_bytes: u64, tx_bytes: u64) -> Reading {
    Reading {
        mono,
        wall: mono + OFFSET,
        boot: Some(-1000.0),
        id: Some("*1".into()),
        value: Value::Counters { rx_bytes, tx_bytes },
    }
}

/// What a GAUGE data source integrates to over the lines, starting at the
/// file's last update `last`: (known bits rx, known bits tx, unknown
/// seconds). A line applies its rate to the time since the line before.
fn integrate(last: f64, lines: &[Line]) -> (f64, f64, f64) {
    let (mut rx, mut tx, mut unknown) = (0.0, 0.0, 0.0);
    let mut previous = last;
    for line in lines {
        let seconds = line.at - previous;
        assert!(seconds > 0.0, "line at {} not after {previous}", line.at);
        match (line.rx, line.tx) {
            (Some(r), Some(t)) => {
                // Longer than the heartbeat would be unknown in the RRD.
                assert!(seconds <= 3.0, "known span of {seconds} s");
                rx += r * seconds;
                tx += t * seconds;
            }
            _ => unknown += seconds,
        }
        previous = line.at;
    }
    (rx, tx, unknown)
}

/// Plans and commits everything writable at `offset`.
fn flush(tracker: &mut Tracker, offset: f64) -> (Plan, Written) {
    let plan = tracker.plan(offset, usize::MAX);
    let written = tracker.written(&plan);
    (plan, written)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn steady_samples_integrate_to_the_bytes_counted() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 5.0);
    let mut rx = 5_000_000_000_000u64;
    let mut tx = 1u64 << 40;
    assert_eq!(tracker.observe(counters(10.0, rx, tx)), None);
    assert!(
        tracker.plan(OFFSET, 100).lines.is_empty(),
        "one reading is no span"
    );
    let start = (rx, tx);
    let mut lines = Vec::new();
    for i in 0..100u64 {
        // Replies arrive a little after each whole second; the last one on
        // it, so that every second is written.
        let mono = 11.0 + i as f64 + (i % 7) as f64 * 0.013 * f64::from(i < 99);
        rx += 1_234_567 + i * 1000;
        tx += 98_765;
        assert_eq!(tracker.observe(counters(mono, rx, tx)), None);
        let (plan, written) = flush(&mut tracker, OFFSET);
        assert_eq!(written.backfilled, 0.0);
        lines.extend(plan.lines);
    }
    // The first lines make (last update, first reading] unknown: the
    // second after the last update as the file reported it on its own
    // (see `unknown_line`), then the rest in one line.
    let unknown = |at: f64| Line {
        at: OFFSET + at,
        rx: None,
        tx: None,
    };
    assert_eq!(lines[..2], [unknown(6.0), unknown(10.0)]);
    assert!(lines.iter().all(|l| l.at.fract() == 0.0));
    let (bits_rx, bits_tx, unknown) = integrate(OFFSET + 5.0, &lines);
    assert!(close(bits_rx, (rx - start.0) as f64 * 8.0), "{bits_rx}");
    assert!(close(bits_tx, (tx - start.1) as f64 * 8.0), "{bits_tx}");
    assert!(close(unknown, 5.0));
    assert_eq!(lines.len(), 102, "one line per second");
    assert_eq!(tracker.last_update(), Some(OFFSET + 110.0));
}

#[test]
fn a_provable_gap_is_backfilled_second_by_second() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.4);
    tracker.observe(counters(10.4, 1000, 1000));
    tracker.observe(counters(20.9, 1000 + 10_500 * 125, 1000));
    let (plan, written) = flush(&mut tracker, OFFSET);
    // Up to the last whole second; (20, 20.9] waits for the next reading.
    assert!(close(written.backfilled, 9.6), "{written:?}");
    let stamps: Vec<f64> = plan.lines.iter().map(|l| l.at - OFFSET).collect();
    let expected: Vec<f64> = (11..=20).map(f64::from).collect();
    assert_eq!(stamps, expected);
    assert!(plan.lines.iter().all(|l| close(l.rx.unwrap(), 1_000_000.0)));
    let (bits, _, unknown) = integrate(OFFSET + 10.4, &plan.lines);
    assert!(close(bits, 9.6 * 1_000_000.0));
    assert_eq!(unknown, 0.0);
    assert!(close(tracker.pending_seconds(), 0.9));
}

#[test]
fn resets_reboots_and_replaced_interfaces_stay_unknown() {
    let cases: [(Reading, Event); 3] = [
        (
            counters(14.0, 10, 10),
            Event::CounterWentDown { seconds: 4.0 },
        ),
        (
            Reading {
                boot: Some(5.0),
                ..counters(14.0, 2_000_000, 2_000_000)
            },
            Event::Rebooted { seconds: 4.0 },
        ),
        (
            Reading {
                id: Some("*9".into()),
                ..counters(14.0, 2_000_000, 2_000_000)
            },
            Event::Replaced { seconds: 4.0 },
        ),
    ];
    for (after, event) in cases {
        let mut tracker = Tracker::new();
        tracker.file_ready(OFFSET + 10.0);
        tracker.observe(counters(10.0, 1_000_000, 1_000_000));
        assert_eq!(tracker.observe(after.clone()), Some(event.clone()));
        // The next span is measured from the new baseline.
        let next = Reading {
            mono: 15.0,
            wall: 15.0 + OFFSET,
            value: match after.value {
                Value::Counters { rx_bytes, tx_bytes } => Value::Counters {
                    rx_bytes: rx_bytes + 500,
                    tx_bytes: tx_bytes + 500,
                },
                other => other,
            },
            ..after
        };
        assert_eq!(tracker.observe(next), None);
        let (plan, written) = flush(&mut tracker, OFFSET);
        let values: Vec<(f64, Option<f64>)> =
            plan.lines.iter().map(|l| (l.at - OFFSET, l.rx)).collect();
        // The run starts at the file's last update as reported: its first
        // second has a line of its own (see the test below).
        assert_eq!(
            values,
            [(11.0, None), (14.0, None), (15.0, Some(4000.0))],
            "{event:?}"
        );
        assert!(close(written.unknown, 4.0));
        assert_eq!(written.backfilled, 0.0);
    }
}

#[test]
fn a_second_is_known_when_more_than_half_of_it_was_measured() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.3);
    tracker.observe(counters(10.3, 0, 0));
    tracker.observe(counters(11.3, 1000, 0));
    // A reset: (11.3, 12.3] is unknown. The second ending at 12 was
    // measured for 0.3 s only: unknown. The one ending at 13 for 0.7 s:
    // known, with the rate of its measured part.
    tracker.observe(counters(12.3, 10, 0));
    tracker.observe(counters(13.3, 1010, 0));
    let (plan, written) = flush(&mut tracker, OFFSET);
    let values: Vec<(f64, Option<f64>)> =
        plan.lines.iter().map(|l| (l.at - OFFSET, l.rx)).collect();
    assert_eq!(
        values,
        [(11.0, Some(8000.0)), (12.0, None), (13.0, Some(8000.0))]
    );
    assert!(close(written.unknown, 1.0));
    assert!(close(written.trimmed, 0.3), "{written:?}");
    assert_eq!(written.lost, 0.0);

    // A reading a few milliseconds into a second, then a reset: that
    // second is unknown, not filled from those milliseconds.
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.005, 0, 0));
    tracker.observe(counters(11.005, 1000, 0));
    tracker.observe(counters(12.005, 10, 0));
    tracker.observe(counters(13.005, 2010, 0));
    let (plan, _) = flush(&mut tracker, OFFSET);
    let values: Vec<(f64, Option<f64>)> =
        plan.lines.iter().map(|l| (l.at - OFFSET, l.rx)).collect();
    assert_eq!(
        values,
        [(11.0, Some(8000.0)), (12.0, None), (13.0, Some(16000.0))]
    );
}

#[test]
fn no_backfill_across_a_clock_step() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    // Ten seconds of gap during which the wall clock jumped an hour ahead.
    let stepped = Reading {
        wall: 20.0 + OFFSET + 3600.0,
        ..counters(20.0, 80_000, 0)
    };
    assert_eq!(
        tracker.observe(stepped),
        Some(Event::GapAcrossClockStep { seconds: 10.0 })
    );
    let (plan, written) = flush(&mut tracker, OFFSET + 3600.0);
    assert_eq!(written.backfilled, 0.0);
    assert!(plan.lines.iter().all(|l| l.rx.is_none()));

    // A step between two readings one second apart keeps the rate: the
    // bytes were measured on the monotonic clock.
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    tracker.observe(counters(11.0, 1000, 0));
    flush(&mut tracker, OFFSET);
    let stepped = Reading {
        wall: 12.0 + OFFSET + 100.0,
        ..counters(12.0, 2000, 0)
    };
    assert_eq!(tracker.observe(stepped), None);
    let (plan, _) = flush(&mut tracker, OFFSET + 100.0);
    let last = plan.lines.last().unwrap();
    assert_eq!(last.rx, Some(8000.0));
    assert!(close(last.at, OFFSET + 112.0));
}

#[test]
fn samples_taken_while_the_clock_is_behind_the_file_are_held_then_restamped() {
    // A Pi boots with its clock 10 minutes behind the file's last update;
    // NTP steps it right after 5 minutes.
    let behind = OFFSET - 600.0;
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 100.0);
    let reading = |mono: f64, bytes: u64| Reading {
        wall: mono + behind,
        ..counters(mono, bytes, bytes)
    };
    for i in 0..300u64 {
        tracker.observe(reading(400.0 + i as f64, i * 1000));
        assert!(
            tracker.plan(behind, 100).lines.is_empty(),
            "held, not written"
        );
    }
    assert!(close(tracker.pending_seconds(), 299.0));
    // The step: wall time is now right, and the held spans are stamped with
    // the new offset, after the file's last update.
    tracker.observe(counters(700.0, 300_000, 300_000));
    let (plan, written) = flush(&mut tracker, OFFSET);
    assert_eq!(written.lost, 0.0);
    assert!(plan.lines.iter().all(|l| l.at > OFFSET + 100.0));
    let (bits, _, _) = integrate(OFFSET + 100.0, &plan.lines);
    assert!(close(bits, 300_000.0 * 8.0));
    assert!(close(plan.lines.last().unwrap().at, OFFSET + 700.0));
}

#[test]
fn held_spans_overtaken_by_the_clock_are_lost_not_misplaced() {
    // The clock is behind the file and is never stepped: once time passes
    // the file's last update, the newest spans are written and the held
    // ones are given up.
    let behind = OFFSET - 5.0;
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 100.0);
    for i in 0..110u64 {
        tracker.observe(Reading {
            wall: 100.0 + i as f64 + behind,
            ..counters(100.0 + i as f64, i, i)
        });
    }
    let (plan, written) = flush(&mut tracker, behind);
    assert!(plan.lines.iter().all(|l| l.at > OFFSET + 100.0));
    // Five held seconds end at or before the last update: lost. The rest
    // follow it without a gap.
    assert!(close(written.lost, 5.0), "{written:?}");
    assert_eq!(plan.lines.len(), 104);
}

#[test]
fn a_restart_just_after_the_last_write_writes_its_first_second_as_measured() {
    // The previous run's last line was at 100, which the file reports.
    // The restart's first reading is at 100.3, the next ones just after
    // each whole second: the second ending at 101 was measured for 0.7 s
    // and holds the rate of that part.
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 100.0);
    tracker.observe(counters(100.3, 0, 0));
    tracker.observe(counters(101.002, 1000, 0));
    tracker.observe(counters(102.002, 2000, 0));
    let (plan, written) = flush(&mut tracker, OFFSET);
    let stamps: Vec<f64> = plan.lines.iter().map(|l| l.at - OFFSET).collect();
    assert_eq!(stamps, [101.0, 102.0]);
    let first = 8000.0 / 0.702;
    assert!(close(plan.lines[0].rx.unwrap(), first));
    assert!(close(
        plan.lines[1].rx.unwrap(),
        first * 0.002 + 8000.0 * 0.998
    ));
    assert_eq!(written.lost, 0.0, "{written:?}");
    // Once a write of ours set the last update (102), time stamped behind
    // it is lost: the clock stepped back by 1.5 s.
    for i in 3..6u64 {
        tracker.observe(counters(100.002 + i as f64, i * 1000, 0));
    }
    let (plan, written) = flush(&mut tracker, OFFSET - 1.5);
    assert_eq!(plan.lines.len(), 1);
    assert!(close(written.lost, 1.5), "{written:?}");
}

#[test]
fn an_unknown_run_from_a_reported_last_update_closes_its_first_second_alone() {
    // The file reports 100; another program may have written it at 100.4,
    // and librrd would fill every second of a run shorter than its
    // heartbeat from that update's known part. So the run's first second
    // gets a line of its own; after a write of ours, one line is enough.
    // A counter reset between 100 and 102.5 leaves the seconds ending at
    // 101 and 102 unmeasured, and the one ending at 103 half measured.
    let readings = [(102.5, 0), (103.002, 1000), (104.002, 2000)];
    for (reported, expected) in [
        (true, vec![101.0, 103.0, 104.0]),
        (false, vec![103.0, 104.0]),
    ] {
        let mut tracker = Tracker::new();
        tracker.file_ready(OFFSET + 99.0);
        tracker.observe(counters(99.0, 5000, 0));
        tracker.observe(counters(100.0, 6000, 0));
        flush(&mut tracker, OFFSET);
        if reported {
            tracker.resync(OFFSET + 100.0, OFFSET);
        }
        for (mono, rx) in readings {
            tracker.observe(counters(mono, rx, 0));
        }
        let (plan, _) = flush(&mut tracker, OFFSET);
        let stamps: Vec<f64> = plan.lines.iter().map(|l| l.at - OFFSET).collect();
        assert_eq!(stamps, expected, "reported: {reported}");
        let known: Vec<bool> = plan.lines.iter().map(|l| l.rx.is_some()).collect();
        assert_eq!(known.last(), Some(&true));
        assert!(known[..known.len() - 1].iter().all(|k| !k));
    }
}

#[test]
fn nothing_is_written_before_the_file_is_ready_and_nothing_is_lost_meanwhile() {
    let mut tracker = Tracker::new();
    for i in 0..60u64 {
        tracker.observe(counters(10.0 + i as f64, i * 500, i * 50));
        assert!(tracker.plan(OFFSET, 1000).lines.is_empty());
    }
    // The new file starts just before the first reading.
    tracker.file_ready(OFFSET + 9.0);
    let (plan, written) = flush(&mut tracker, OFFSET);
    let (rx, tx, _) = integrate(OFFSET + 9.0, &plan.lines);
    assert!(close(rx, 59.0 * 500.0 * 8.0));
    assert!(close(tx, 59.0 * 50.0 * 8.0));
    assert_eq!(written.lost, 0.0);
}

#[test]
fn a_failed_write_is_retried_and_a_partial_one_resumes() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    tracker.observe(counters(11.0, 1000, 0));
    let first = tracker.plan(OFFSET, 100);
    // The write failed and the file did not change: the same lines again,
    // plus the next sample.
    tracker.resync(OFFSET + 10.0, OFFSET);
    tracker.observe(counters(12.0, 2000, 0));
    let again = tracker.plan(OFFSET, 100);
    assert_eq!(again.lines[..first.lines.len()], first.lines[..]);
    assert_eq!(again.lines.len(), first.lines.len() + 1);

    // A backfill whose write stopped half-way resumes where the file is.
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    tracker.observe(counters(30.0, 20_000, 0));
    let plan = tracker.plan(OFFSET, 100);
    assert_eq!(plan.lines.len(), 20);
    tracker.resync(OFFSET + 18.0, OFFSET);
    let (rest, _) = flush(&mut tracker, OFFSET);
    assert_eq!(rest.lines.len(), 12);
    assert!(close(rest.lines[0].at, OFFSET + 19.0));
    let (bits, _, unknown) = integrate(OFFSET + 18.0, &rest.lines);
    assert!(close(bits, 12_000.0 * 8.0));
    assert_eq!(unknown, 0.0);
}

#[test]
fn samples_are_held_while_the_file_is_gone() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    tracker.observe(counters(11.0, 1000, 0));
    flush(&mut tracker, OFFSET);
    tracker.file_gone();
    for i in 2..20u64 {
        tracker.observe(counters(10.0 + i as f64, i * 1000, 0));
        assert!(tracker.plan(OFFSET, 100).lines.is_empty());
    }
    // A new file that starts before the held samples takes them all.
    tracker.file_ready(OFFSET + 11.0);
    let (plan, written) = flush(&mut tracker, OFFSET);
    let (bits, _, _) = integrate(OFFSET + 11.0, &plan.lines);
    assert!(close(bits, 18.0 * 1000.0 * 8.0));
    assert_eq!(written.lost + written.trimmed, 0.0);
}

#[test]
fn long_gaps_are_written_in_bounded_pieces() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 10.0);
    tracker.observe(counters(10.0, 0, 0));
    tracker.observe(counters(10.0 + 7200.0, 7200 * 1000, 0));
    let mut all = Vec::new();
    for _ in 0..72 {
        let plan = tracker.plan(OFFSET, 100);
        assert_eq!(plan.lines.len(), 100);
        tracker.written(&plan);
        all.extend(plan.lines);
    }
    let (bits, _, _) = integrate(OFFSET + 10.0, &all);
    assert!(close(bits, 7200.0 * 1000.0 * 8.0));
    assert!(flush(&mut tracker, OFFSET).0.lines.is_empty());
}

#[test]
fn the_pending_queue_is_bounded() {
    let mut tracker = Tracker::new();
    for i in 0..(MAX_PENDING as u64 + 101) {
        tracker.observe(counters(i as f64, i, i));
    }
    tracker.file_ready(OFFSET - 1.0);
    let (plan, written) = flush(&mut tracker, OFFSET);
    assert_eq!(
        plan.lines.len(),
        MAX_PENDING + 2,
        "two unknown lines (the first second after the reported last update on its own) and the pieces kept"
    );
    assert!(close(written.lost, 100.0));
}

#[test]
fn monitor_traffic_rates_cannot_fill_gaps() {
    let rates = |mono: f64, rx_bps: f64| Reading {
        value: Value::Rates {
            rx_bps,
            tx_bps: 1.0,
        },
        ..counters(mono, 0, 0)
    };
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 9.0);
    // The first rate is the second before it: written at once.
    tracker.observe(rates(10.0, 5.0));
    let (plan, _) = flush(&mut tracker, OFFSET);
    assert_eq!(plan.lines.len(), 1);
    assert_eq!(plan.lines[0].rx, Some(5.0));
    assert_eq!(tracker.observe(rates(11.0, 6.0)), None);
    // After a gap, only the reading's own second is known.
    assert_eq!(
        tracker.observe(rates(20.0, 7.0)),
        Some(Event::GapWithoutCounters { seconds: 8.0 })
    );
    let (plan, _) = flush(&mut tracker, OFFSET);
    let values: Vec<(f64, Option<f64>)> =
        plan.lines.iter().map(|l| (l.at - OFFSET, l.rx)).collect();
    assert_eq!(values, [(11.0, Some(6.0)), (19.0, None), (20.0, Some(7.0))]);
}

#[test]
fn repeated_or_backwards_monotonic_readings_are_ignored() {
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET);
    tracker.observe(counters(10.0, 100, 100));
    assert_eq!(tracker.observe(counters(10.0, 200, 200)), None);
    assert_eq!(tracker.observe(counters(9.0, 300, 300)), None);
    tracker.observe(counters(11.0, 1100, 100));
    let (plan, _) = flush(&mut tracker, OFFSET);
    assert_eq!(plan.lines.last().unwrap().rx, Some(8000.0));
}

#[test]
fn jitter_of_the_clocks_mapping_loses_nothing() {
    // Wall minus monotonic time is read anew for each write, and moves by
    // microseconds (two clock reads) or up to half a millisecond a second
    // (NTP slewing): that is the mapping moving, not measured time lost.
    let mut tracker = Tracker::new();
    tracker.file_ready(OFFSET + 5.0);
    let (mut rx, mut tx) = (1_000_000u64, 2_000_000u64);
    let start = (rx, tx);
    assert_eq!(tracker.observe(counters(10.0, rx, tx)), None);
    let mut lines = Vec::new();
    // The last write at the normal mapping, so that every second is written.
    for i in 0..61u64 {
        rx += 125_000 + i;
        tx += 5_000;
        assert_eq!(tracker.observe(counters(11.0 + i as f64, rx, tx)), None);
        let jitter = [0.0, -7e-6, 3e-6, -4e-4][i as usize % 4];
        let (plan, written) = flush(&mut tracker, OFFSET + jitter);
        assert_eq!(written.lost, 0.0, "second {i}: lost {}", written.lost);
        lines.extend(plan.lines);
    }
    let (bits_rx, bits_tx, _) = integrate(OFFSET + 5.0, &lines);
    let (want_rx, want_tx) = ((rx - start.0) as f64 * 8.0, (tx - start.1) as f64 * 8.0);
    assert!(
        (bits_rx - want_rx).abs() <= want_rx * 1e-3,
        "{bits_rx} vs {want_rx}"
    );
    assert!(
        (bits_tx - want_tx).abs() <= want_tx * 1e-3,
        "{bits_tx} vs {want_tx}"
    );
}
