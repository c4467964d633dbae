//! The collector: one thread per router that reads the monitored
//! interfaces once per wall-clock second and writes their rates into the
//! RRD files, and the health state it shares with the rest of the program.
//!
//! The decisions live in [`tracker`] (pure, one per interface) and in the
//! small pure helpers here ([`Backoff`], [`until_next_second`]); [`run`] is
//! the loop around them: it owns the router session, the clock readings and
//! the RRD writes. Router and file errors never end it: it logs them, keeps
//! them in the health state, and tries again (the session after a short
//! capped backoff, a failed write with the next sample).
//!
//! Invariant: a collector is the only writer of its RRD files, and writes
//! only while holding the file's lock for writing ([`Files::writing`]) and
//! while its stop flag is unset, so that shutdown (which sets the flag,
//! then [`Files::settle`]s) never cuts a write in half, and a collector
//! being replaced writes nothing once its stop flag is set and the locks
//! have settled.

pub mod tracker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{self, Source};
use crate::files::Files;
use crate::routeros::client::{self, Client};
use crate::rrd;
use crate::store::{self, Creation, Profile};
use tracker::{Event, Reading, Tracker, Value};

/// Most update lines written per file per second; a long backfill is
/// spread over the following seconds.
const MAX_LINES_PER_WRITE: usize = 3600;
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an unusable RRD file is looked at again.
pub const FILE_RETRY: Duration = Duration::from_secs(10);

/// The two clocks a collector reads: monotonic for durations, wall for
/// stamps.
pub trait Clock: Send + Sync {
    /// Monotonic seconds (any origin) and wall-clock Unix seconds, now.
    fn now(&self) -> Now;
}

/// One reading of both clocks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Now {
    /// Monotonic seconds.
    pub mono: f64,
    /// Wall-clock Unix seconds.
    pub wall: f64,
}

/// The system's clocks, with an optional shift of the wall clock read from
/// a file (for tests of clock steps: `MT_TRAFMON_CLOCK_SHIFT_FILE`, whose
/// content is a number of seconds added to the wall clock, re-read at every
/// reading).
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
    shift_file: Option<PathBuf>,
}

impl SystemClock {
    /// The system clocks, shifted by the number in `shift_file` if given.
    pub fn new(shift_file: Option<PathBuf>) -> SystemClock {
        SystemClock {
            origin: Instant::now(),
            shift_file,
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let shift = self
            .shift_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        Now {
            mono: self.origin.elapsed().as_secs_f64(),
            wall: wall + shift,
        }
    }
}

/// What the web pages and metrics may know about a router.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouterHealth {
    /// The router's name from the config.
    pub name: String,
    /// Whether a session is up.
    pub connected: bool,
    /// The last error, with its wall-clock time.
    pub last_error: Option<(f64, String)>,
    /// One entry per monitored interface, in config order.
    pub interfaces: Vec<InterfaceHealth>,
}

impl RouterHealth {
    /// The state before the collector has done anything.
    pub fn new(router: &config::Router) -> RouterHealth {
        RouterHealth {
            name: router.name.clone(),
            connected: false,
            last_error: None,
            interfaces: router
                .interfaces
                .iter()
                .map(|i| InterfaceHealth {
                    name: i.name.clone(),
                    label: i.label.clone(),
                    rrd: i.rrd.clone(),
                    ..InterfaceHealth::default()
                })
                .collect(),
        }
    }
}

/// What the web pages and metrics may know about an interface.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterfaceHealth {
    /// The router's name for it.
    pub name: String,
    /// Its label.
    pub label: String,
    /// Its RRD file.
    pub rrd: PathBuf,
    /// The file's state.
    pub file: FileState,
    /// The last sample: wall-clock time and rates in bit/s.
    pub last_sample: Option<Sample>,
    /// Update lines written.
    pub samples_written: u64,
    /// Seconds filled in by backfill.
    pub seconds_backfilled: f64,
    /// Seconds written as unknown or given up.
    pub seconds_lost: f64,
}

/// The latest rates of an interface.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Wall-clock Unix time the reply arrived.
    pub at: f64,
    /// Received bit/s.
    pub rx_bps: f64,
    /// Sent bit/s.
    pub tx_bps: f64,
}

/// Where an interface's RRD file stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum FileState {
    /// Not looked at yet.
    #[default]
    Pending,
    /// Being created (samples are held meanwhile).
    Creating,
    /// Open for writing.
    Ready,
    /// Unusable; the message says why. Retried every [`FILE_RETRY`].
    Failed(String),
}

/// Everything a collector thread needs.
pub struct Job {
    /// The router and its interfaces.
    pub router: config::Router,
    /// The profile of files created from now on.
    pub profile: Profile,
    /// Where the thread reports.
    pub health: Arc<Mutex<RouterHealth>>,
    /// Set to end the thread.
    pub stop: Arc<AtomicBool>,
    /// The per-file locks; a file's is held for writing around each of
    /// its updates.
    pub files: Files,
    /// The clocks.
    pub clock: Arc<dyn Clock>,
}

/// A short, capped reconnection backoff: 1, 2, 4, 5, 5, … seconds; reset
/// when a session succeeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait after one more failure.
    pub fn failed(&mut self) -> Duration {
        let wait = Duration::from_secs(1u64 << self.failures.min(8)).min(MAX_BACKOFF);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// A session worked: start again from the shortest wait.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// How long to sleep from wall time `wall` to the next whole second (a
/// little after it, so that the sample lands inside the new second).
pub fn until_next_second(wall: f64) -> Duration {
    let fraction = wall.rem_euclid(1.0);
    Duration::from_secs_f64((1.0 - fraction).clamp(0.0, 1.0) + 0.002)
}

/// One monitored interface inside the loop.
struct Slot {
    name: String,
    path: PathBuf,
    tracker: Tracker,
    creation: Option<Creation>,
    /// When (monotonic) to look at a failed file again.
    retry_at: Option<f64>,
    /// Whether the last write failed (to log a failure streak once).
    failing: bool,
    /// Why the file was last found unusable (to log each reason once).
    failure: Option<String>,
}

/// Runs a collector until `job.stop` is set.
pub fn run(job: Job) {
    let mut slots: Vec<Slot> = job
        .router
        .interfaces
        .iter()
        .map(|i| Slot {
            name: i.name.clone(),
            path: i.rrd.clone(),
            tracker: Tracker::new(),
            creation: None,
            retry_at: None,
            failing: false,
            failure: None,
        })
        .collect();
    let names: Vec<&str> = job
        .router
        .interfaces
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    let router = &job.router;
    let mut backoff = Backoff::default();
    let mut last_offset: Option<f64> = None;
    let mut last_error = String::new();
    while !job.stop.load(Ordering::Relaxed) {
        service_files(&job, &mut slots);
        let session = connect(router, &*job.clock);
        let (mut client, boot) = match session {
            Ok(session) => session,
            Err(error) => {
                report_error(&job, &mut last_error, &error);
                sleep(&job.stop, backoff.failed());
                continue;
            }
        };
        log::info!(
            "{}: connected to {} as {}, monitoring {}",
            router.name,
            client.addr(),
            router.user,
            names.join(", ")
        );
        backoff.reset();
        last_error.clear();
        update_health(&job, |h| h.connected = true);
        while !job.stop.load(Ordering::Relaxed) {
            sleep(&job.stop, until_next_second(job.clock.now().wall));
            if job.stop.load(Ordering::Relaxed) {
                break;
            }
            let values = read(&mut client, router.source, &names);
            let now = job.clock.now();
            let offset = now.wall - now.mono;
            if let Some(previous) = last_offset {
                if (offset - previous).abs() > tracker::STEP_TOLERANCE {
                    log::warn!(
                        "{}: the wall clock stepped by {:+.3} s; no gap is backfilled across the step",
                        router.name,
                        offset - previous
                    );
                }
            }
            last_offset = Some(offset);
            let values = match values {
                Ok(values) => values,
                Err(error) => {
                    report_error(&job, &mut last_error, &error);
                    update_health(&job, |h| h.connected = false);
                    break;
                }
            };
            for (slot, (id, value)) in slots.iter_mut().zip(values) {
                let event = slot.tracker.observe(Reading {
                    mono: now.mono,
                    wall: now.wall,
                    boot,
                    id,
                    value,
                });
                if let Some(event) = event {
                    log_event(&router.name, &slot.name, &event);
                }
            }
            record_samples(&job, &slots, now.wall);
            service_files(&job, &mut slots);
            write(&job, &mut slots, offset);
        }
        // A reconnect after a dropped session waits too, so that a router
        // that accepts and drops at once is not hammered.
        if !job.stop.load(Ordering::Relaxed) {
            sleep(&job.stop, backoff.failed());
        }
    }
    update_health(&job, |h| h.connected = false);
}

/// Connects and logs in; returns the session and the router's boot time on
/// the monotonic axis.
fn connect(
    router: &config::Router,
    clock: &dyn Clock,
) -> Result<(Client, Option<f64>), client::Error> {
    let options = client::Options {
        connect_timeout: router.timeout,
        io_timeout: router.timeout,
    };
    let mut client = Client::connect(&router.host, router.port, options)?;
    client.login(&router.user, &router.password)?;
    let resource = client.resource()?;
    let boot = clock.now().mono - resource.uptime.as_secs_f64();
    Ok((client, Some(boot)))
}

/// One request for every interface: counters (with the interface ids) or
/// monitor-traffic rates.
fn read(
    client: &mut Client,
    source: Source,
    names: &[&str],
) -> Result<Vec<(Option<String>, Value)>, client::Error> {
    match source {
        Source::Counters => Ok(client
            .counters(names)?
            .into_iter()
            .map(|c| {
                let value = Value::Counters {
                    rx_bytes: c.rx_bytes,
                    tx_bytes: c.tx_bytes,
                };
                (c.id, value)
            })
            .collect()),
        Source::MonitorTraffic => Ok(client
            .monitor_traffic_once(names)?
            .into_iter()
            .map(|r| {
                let value = Value::Rates {
                    rx_bps: r.rx_bps as f64,
                    tx_bps: r.tx_bps as f64,
                };
                (None, value)
            })
            .collect()),
    }
}

/// Opens files, starts and finishes creations, retries failed files.
fn service_files(job: &Job, slots: &mut [Slot]) {
    let now = job.clock.now();
    for (index, slot) in slots.iter_mut().enumerate() {
        if let Some(creation) = &mut slot.creation {
            match creation.poll() {
                None => continue,
                Some(Ok(())) => {
                    log::info!("{}: created {}", slot.name, slot.path.display());
                    slot.creation = None;
                }
                Some(Err(error)) => {
                    slot.creation = None;
                    fail_file(job, slot, index, now.mono, error.to_string());
                    continue;
                }
            }
        }
        if slot.tracker.last_update().is_some() {
            continue;
        }
        if slot.retry_at.is_some_and(|at| now.mono < at) {
            continue;
        }
        if !slot.path.exists() {
            log::info!(
                "{}: creating {} ({} profile); samples are held until it is ready",
                slot.name,
                slot.path.display(),
                match job.profile {
                    Profile::Original => "original",
                    Profile::Compact => "compact",
                }
            );
            // The file starts before every held sample (and a little
            // before now), so that they all stamp after its first update.
            let offset = now.wall - now.mono;
            let oldest = slot.tracker.held_since(offset).unwrap_or(now.wall);
            let start = (oldest.min(now.wall - 10.0) - 1.0).floor() as i64;
            slot.creation = Some(Creation::start(slot.path.clone(), job.profile, start));
            set_file_state(job, index, FileState::Creating);
            continue;
        }
        match store::open(&slot.path) {
            Ok(last) => {
                if slot.failure.take().is_some() {
                    log::info!("{}: {} is usable again", slot.name, slot.path.display());
                }
                slot.tracker.file_ready(last);
                slot.retry_at = None;
                set_file_state(job, index, FileState::Ready);
            }
            Err(error) => fail_file(job, slot, index, now.mono, error.to_string()),
        }
    }
}

/// Marks a file unusable until [`FILE_RETRY`] has passed; logs the
/// message when it differs from the last one.
fn fail_file(job: &Job, slot: &mut Slot, index: usize, mono: f64, message: String) {
    if slot.failure.as_deref() != Some(message.as_str()) {
        log::error!(
            "{}: {message}; trying again every {} s",
            slot.name,
            FILE_RETRY.as_secs()
        );
    }
    slot.retry_at = Some(mono + FILE_RETRY.as_secs_f64());
    slot.failure = Some(message.clone());
    set_file_state(job, index, FileState::Failed(message));
}

/// Writes what each tracker plans; a failed write is logged once per streak
/// and retried with the next sample.
fn write(job: &Job, slots: &mut [Slot], offset: f64) {
    for (index, slot) in slots.iter_mut().enumerate() {
        let plan = slot.tracker.plan(offset, MAX_LINES_PER_WRITE);
        if plan.lines.is_empty() {
            continue;
        }
        let lines: Vec<String> = plan
            .lines
            .iter()
            .map(|l| rrd::update_line(l.at, l.rx, l.tx))
            .collect();
        // The stop flag is checked under the lock: once the daemon has set
        // it and then settled the locks, this collector writes no more (a
        // replacement may take over its files at once).
        let result = job.files.writing(&slot.path, || {
            (!job.stop.load(Ordering::Relaxed)).then(|| rrd::update(&slot.path, &lines))
        });
        let Some(result) = result else {
            return;
        };
        match result {
            Ok(()) => {
                let written = slot.tracker.written(&plan);
                if slot.failing {
                    log::info!("{}: writing {} works again", slot.name, slot.path.display());
                    slot.failing = false;
                }
                if written.backfilled > 0.0 {
                    log::info!(
                        "{}: backfilled {:.0} s of gap with its average rate (counters prove continuity)",
                        slot.name,
                        written.backfilled
                    );
                }
                if written.lost > 0.0 {
                    log::warn!(
                        "{}: {:.0} s of held samples given up (they could not be stamped after the file's last update)",
                        slot.name,
                        written.lost
                    );
                }
                update_health(job, |h| {
                    let interface = &mut h.interfaces[index];
                    interface.samples_written += written.lines as u64;
                    interface.seconds_backfilled += written.backfilled;
                    interface.seconds_lost += written.unknown + written.lost + written.trimmed;
                });
            }
            Err(error) => {
                if !slot.failing {
                    log::warn!(
                        "{}: {error}; the samples are kept and written with the next one",
                        slot.name
                    );
                    slot.failing = true;
                }
                // Another process reading the file holds librrd's lock
                // (which never waits): nothing was written, try again.
                if error.message().contains("could not lock") {
                    continue;
                }
                match rrd::last(&slot.path) {
                    Ok(last) => slot.tracker.resync(last as f64 + 1.0, offset),
                    Err(error) => {
                        slot.tracker.file_gone();
                        let message = error.to_string();
                        fail_file(job, slot, index, job.clock.now().mono, message);
                    }
                }
            }
        }
    }
}

fn record_samples(job: &Job, slots: &[Slot], wall: f64) {
    update_health(job, |h| {
        for (slot, interface) in slots.iter().zip(&mut h.interfaces) {
            if let Some((rx_bps, tx_bps)) = slot.tracker.latest_rates() {
                interface.last_sample = Some(Sample {
                    at: wall,
                    rx_bps,
                    tx_bps,
                });
            }
        }
    });
}

fn set_file_state(job: &Job, index: usize, state: FileState) {
    update_health(job, |h| h.interfaces[index].file = state);
}

fn update_health(job: &Job, change: impl FnOnce(&mut RouterHealth)) {
    let mut health = job.health.lock().unwrap_or_else(PoisonError::into_inner);
    change(&mut health);
}

/// Logs an error once per streak of the same message, and records it.
fn report_error(job: &Job, last: &mut String, error: &client::Error) {
    let message = error.to_string();
    if *last != message {
        log::warn!("{}: {message}; retrying", job.router.name);
        *last = message.clone();
    }
    let at = job.clock.now().wall;
    update_health(job, |h| {
        h.connected = false;
        h.last_error = Some((at, message));
    });
}

fn log_event(router: &str, interface: &str, event: &Event) {
    match event {
        Event::CounterWentDown { seconds } => log::warn!(
            "{router}/{interface}: a byte counter went down (counters reset, or the router rebooted): {seconds:.0} s stay unknown"
        ),
        Event::Rebooted { seconds } => {
            log::warn!("{router}/{interface}: the router rebooted: {seconds:.0} s stay unknown")
        }
        Event::Replaced { seconds } => log::warn!(
            "{router}/{interface}: the interface was re-created (its id changed): {seconds:.0} s stay unknown"
        ),
        Event::GapAcrossClockStep { seconds } => log::warn!(
            "{router}/{interface}: {seconds:.0} s gap during a wall-clock step: left unknown"
        ),
        Event::GapWithoutCounters { seconds } => log::warn!(
            "{router}/{interface}: {seconds:.0} s gap with monitor-traffic as the source: left unknown"
        ),
    }
}

/// Sleeps up to `duration`, waking early when `stop` is set.
fn sleep(stop: &AtomicBool, duration: Duration) {
    let step = Duration::from_millis(50);
    let deadline = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(step));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_short_capped_and_resets() {
        let mut backoff = Backoff::default();
        let waits: Vec<u64> = (0..6).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5, 5]);
        backoff.reset();
        assert_eq!(backoff.failed(), Duration::from_secs(1));
        let mut long = Backoff { failures: u32::MAX };
        assert_eq!(long.failed(), MAX_BACKOFF);
    }

    #[test]
    fn pacing_lands_just_after_the_next_second() {
        assert_eq!(until_next_second(100.0), Duration::from_millis(1002));
        assert!((until_next_second(100.75).as_secs_f64() - 0.252).abs() < 1e-9);
    }
}
