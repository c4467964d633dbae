//! The collector: one thread per router that reads the monitored
//! interfaces once per wall-clock second and writes their rates into the
//! RRD files, and keeps each interface's [`Health`] entry true.
//!
//! The decisions live in [`tracker`] (pure, one per interface) and in the
//! small pure helpers here ([`Backoff`], [`until_next_second`], [`Streak`]);
//! [`run`] is the loop around them: it owns the router session, the clock
//! readings and the RRD writes. Router and file errors never end it: it
//! logs them, keeps them in the health state, and tries again (the session
//! after a short capped backoff, a failed write with the next sample).
//!
//! Interfaces are independent: one the router does not list (deleted,
//! renamed, not there yet) is unknown while it is missing and said once in
//! the log, while the others keep their per-second data on the same
//! session. A command the router refuses (`!trap`) keeps the session; only
//! a broken session (closed, timed out, garbled, `!fatal`) is reconnected.
//! Every problem is logged when it starts and once when it ends, with how
//! long it lasted and how often it recurred; lines name
//! `router/interface`, and router text in them is escaped.
//!
//! Invariant: a collector is the only writer of its RRD files, and writes
//! only while holding the file's lock for writing ([`Files::writing`]) and
//! while its stop flag is unset, so that shutdown (which sets the flag,
//! then [`Files::settle`]s) never cuts a write in half, and a collector
//! being replaced writes nothing once its stop flag is set and the locks
//! have settled.

pub mod tracker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{self, Source};
use crate::files::Files;
use crate::health::{FileProblem, FileState, Health, Problem, Sample};
use crate::routeros::client::{self, Client};
use crate::rrd;
use crate::stop::Stop;
use crate::store::{self, Creation, Profile};
use crate::text::{escape, fixed};
use tracker::{Event, Reading, Tracker, Value};

/// Most update lines written per file per second; a long backfill is
/// spread over the following seconds.
const MAX_LINES_PER_WRITE: usize = 3600;
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an unusable RRD file is looked at again.
pub const FILE_RETRY: Duration = Duration::from_secs(10);
/// With `monitor-traffic`, how often interfaces the router did not list
/// are looked for again (the counters ask for them every second anyway).
const MISSING_RECHECK: f64 = 10.0;

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

/// Everything a collector thread needs.
pub struct Job {
    /// The router and its interfaces.
    pub router: config::Router,
    /// The profile of files created from now on.
    pub profile: Profile,
    /// One health entry per interface, in the order of
    /// `router.interfaces` (see [`health_entries`]).
    pub health: Vec<Health>,
    /// Set to end the thread; wakes it from its sleeps.
    pub stop: Stop,
    /// The per-file locks; a file's is held for writing around each of
    /// its updates.
    pub files: Files,
    /// The clocks.
    pub clock: Arc<dyn Clock>,
}

/// The health entries of a router's interfaces, in config order, for a
/// [`Job`] and for whoever shows them.
pub fn health_entries(router: &config::Router) -> Vec<Health> {
    router
        .interfaces
        .iter()
        .map(|interface| Health::new(&router.name, interface))
        .collect()
}

/// A short, capped reconnection backoff: 1, 2, 4, 5, 5, … seconds; reset
/// when a read succeeds.
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

/// A problem that recurs: logged when it starts (and when its message
/// changes), counted while it goes on, summed up when it ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Streak {
    /// The current problem: wall time it started, its latest message, how
    /// often it occurred.
    current: Option<(f64, String, u64)>,
}

/// What [`Streak::failed`] and [`Streak::ended`] want logged.
#[derive(Clone, Debug, PartialEq)]
pub enum Said {
    /// The problem started, or changed: its message.
    Started(String),
    /// The problem ended: seconds it lasted and how often it occurred.
    Ended {
        /// Seconds from its start to its end.
        seconds: f64,
        /// Occurrences.
        count: u64,
    },
}

impl Streak {
    /// One more occurrence at `wall` of the problem `message`; returns what
    /// to log (nothing for a repeat of the same message).
    pub fn failed(&mut self, wall: f64, message: &str) -> Option<Said> {
        match &mut self.current {
            Some((_, last, count)) => {
                *count += 1;
                (last != message).then(|| {
                    message.clone_into(last);
                    Said::Started(message.to_string())
                })
            }
            None => {
                self.current = Some((wall, message.to_string(), 1));
                Some(Said::Started(message.to_string()))
            }
        }
    }

    /// The problem is over at `wall` (a no-op without one).
    pub fn ended(&mut self, wall: f64) -> Option<Said> {
        let (since, _, count) = self.current.take()?;
        Some(Said::Ended {
            seconds: wall - since,
            count,
        })
    }

    /// The current problem, for the health state.
    pub fn problem(&self) -> Option<Problem> {
        self.current.as_ref().map(|(since, message, _)| Problem {
            since: *since,
            message: message.clone(),
        })
    }
}

/// One monitored interface inside the loop.
struct Slot {
    /// `router/interface`, escaped, for the log.
    id: String,
    name: String,
    path: PathBuf,
    health: Health,
    tracker: Tracker,
    creation: Option<Creation>,
    /// When (monotonic) to look at a failed file again.
    retry_at: Option<f64>,
    /// Why the file was last found unusable (to log each reason once).
    failure: Option<String>,
    /// Whether this collector has opened the file since it was created
    /// (its page cache is dropped the first time).
    opened: bool,
    /// The page cache being dropped (see [`drop_page_cache`]), while the
    /// file must not stay mapped.
    dropping: Option<JoinHandle<()>>,
    /// The file kept open between writes, once its page cache is dropped.
    updater: Option<rrd::Updater>,
    /// Failed writes.
    writes: Streak,
    /// The router does not list the interface.
    missing: Streak,
    /// Gaps being backfilled: seconds so far.
    backfill: Option<f64>,
    /// Samples given up: seconds so far.
    lost: Option<f64>,
}

/// The router's side of the loop.
struct Link {
    /// Failed connections and reads.
    failures: Streak,
    /// Whether a session has worked before (the first one is logged).
    worked: bool,
    /// Whether the missing uptime was said already.
    said_no_uptime: bool,
}

/// What one read got for one interface: its id on the router (with
/// counters) and the value.
type Got = (Option<String>, Value);

/// One session.
struct Session {
    client: Client,
    /// The router's boot time on the monotonic axis, if it told its uptime.
    boot: Option<f64>,
    /// With `monitor-traffic`: slots the router did not list at the last
    /// look, and when (monotonic) to look again.
    absent: Vec<bool>,
    look_again: f64,
}

/// Runs a collector until `job.stop` is set.
pub fn run(job: Job) {
    let mut slots: Vec<Slot> = job
        .router
        .interfaces
        .iter()
        .zip(&job.health)
        .map(|(interface, health)| Slot {
            id: escape(&format!("{}/{}", job.router.name, interface.name)).into_owned(),
            name: interface.name.clone(),
            path: interface.rrd.clone(),
            health: health.clone(),
            tracker: Tracker::new(),
            creation: None,
            retry_at: None,
            failure: None,
            opened: false,
            dropping: None,
            updater: None,
            writes: Streak::default(),
            missing: Streak::default(),
            backfill: None,
            lost: None,
        })
        .collect();
    let mut link = Link {
        failures: Streak::default(),
        worked: false,
        said_no_uptime: false,
    };
    let mut backoff = Backoff::default();
    let mut last_offset: Option<f64> = None;
    while !job.stop.is_set() {
        service_files(&job, &mut slots, job.clock.now());
        let reconnect = link.worked;
        let mut session = match connect(&job, &mut link) {
            Ok(session) => session,
            Err(error) => {
                link_failed(&job, &mut link, &slots, &error);
                if job.stop.sleep(backoff.failed()) {
                    break;
                }
                continue;
            }
        };
        session.absent = vec![false; slots.len()];
        for slot in &slots {
            slot.health.update(|h| {
                h.connected = true;
                h.reconnects += u64::from(reconnect);
            });
        }
        // The first reading right away: the first known second does not
        // wait for the next whole second.
        let mut first = true;
        loop {
            if !first && job.stop.sleep(until_next_second(job.clock.now().wall)) {
                break;
            }
            first = false;
            if job.stop.is_set() {
                break;
            }
            let values = read(&mut session, job.router.source, &slots, &*job.clock);
            let now = job.clock.now();
            let offset = now.wall - now.mono;
            if let Some(previous) = last_offset {
                if (offset - previous).abs() > tracker::STEP_TOLERANCE {
                    log::warn!(
                        "{}: the wall clock stepped by {}{} s; no gap is backfilled across the step",
                        escape(&job.router.name),
                        if offset >= previous { "+" } else { "" },
                        fixed(offset - previous, 3)
                    );
                }
            }
            last_offset = Some(offset);
            let mut broken = false;
            match values {
                Ok(values) => {
                    backoff.reset();
                    link_worked(&job, &mut link, &slots, &session, now.wall);
                    observe(&mut slots, &session, values, now);
                }
                Err(error) => {
                    link_failed(&job, &mut link, &slots, &error);
                    broken = ends_session(&error);
                }
            }
            service_files(&job, &mut slots, now);
            write(&job, &mut slots, now);
            if broken {
                for slot in &slots {
                    slot.health.update(|h| h.connected = false);
                }
                break;
            }
        }
        // A reconnect after a dropped session waits too, so that a router
        // that accepts and drops at once is not hammered.
        if !job.stop.is_set() {
            job.stop.sleep(backoff.failed());
        }
    }
    for slot in &slots {
        slot.health.update(|h| h.connected = false);
    }
}

/// Connects and logs in; with counters, also reads the router's uptime
/// (its boot time on the monotonic axis tells reboots apart).
fn connect(job: &Job, link: &mut Link) -> Result<Session, client::Error> {
    let router = &job.router;
    let options = client::Options {
        connect_timeout: router.timeout,
        io_timeout: router.timeout,
    };
    let mut client = Client::connect(&router.host, router.port, options)?;
    client.login(&router.user, &router.password)?;
    let mut boot = None;
    if router.source == Source::Counters {
        match client.resource() {
            Ok(resource) => {
                boot = Some(job.clock.now().mono - resource.uptime.as_secs_f64());
            }
            // The user's group may not read /system/resource: degrade.
            Err(error @ (client::Error::Permission { .. } | client::Error::Trap { .. })) => {
                if !link.said_no_uptime {
                    log::warn!(
                        "{}: cannot read the router's uptime ({error}); a reboot is noticed only when a counter goes down, so a gap across a reboot after which the counters grew past their old values would be backfilled with a wrong rate",
                        escape(&router.name)
                    );
                    link.said_no_uptime = true;
                }
            }
            Err(error) => return Err(error),
        }
    }
    let names: Vec<&str> = router.interfaces.iter().map(|i| i.name.as_str()).collect();
    let said = format!(
        "{}: connected to {} as {}, monitoring {}",
        escape(&router.name),
        client.addr(),
        escape(&router.user),
        escape(&names.join(", "))
    );
    if link.worked {
        log::debug!("{said}");
    } else {
        log::info!("{said}");
        link.worked = true;
    }
    Ok(Session {
        client,
        boot,
        absent: Vec::new(),
        look_again: 0.0,
    })
}

/// Whether an error means the session is broken (as opposed to one
/// command refused).
fn ends_session(error: &client::Error) -> bool {
    !matches!(
        error,
        client::Error::Trap { .. }
            | client::Error::Permission { .. }
            | client::Error::UnknownInterface { .. }
    )
}

/// A connection or a read failed: log it when the streak starts or the
/// problem changes, and show it.
fn link_failed(job: &Job, link: &mut Link, slots: &[Slot], error: &client::Error) {
    let wall = job.clock.now().wall;
    let message = error.to_string();
    if let Some(Said::Started(message)) = link.failures.failed(wall, &message) {
        log::warn!("{}: {message}; retrying", escape(&job.router.name));
    }
    let problem = link.failures.problem();
    for slot in slots {
        slot.health.update(|h| h.router_problem = problem.clone());
    }
}

/// A read worked: end the failure streak, if any.
fn link_worked(job: &Job, link: &mut Link, slots: &[Slot], session: &Session, wall: f64) {
    if let Some(Said::Ended { seconds, count }) = link.failures.ended(wall) {
        log::info!(
            "{}: reading from {} again after {count} failed attempt{} over {seconds} s",
            escape(&job.router.name),
            session.client.addr(),
            if count == 1 { "" } else { "s" },
            seconds = fixed(seconds, 0)
        );
        for slot in slots {
            slot.health.update(|h| h.router_problem = None);
        }
    }
}

/// One request for every interface: per slot, its reading (with the
/// interface's id for counters), or `None` when the router does not list
/// it.
fn read(
    session: &mut Session,
    source: Source,
    slots: &[Slot],
    clock: &dyn Clock,
) -> Result<Vec<Option<Got>>, client::Error> {
    let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
    match source {
        Source::Counters => Ok(session
            .client
            .counters(&names)?
            .into_iter()
            .map(|c| {
                c.map(|c| {
                    let value = Value::Counters {
                        rx_bytes: c.rx_bytes,
                        tx_bytes: c.tx_bytes,
                    };
                    (c.id, value)
                })
            })
            .collect()),
        Source::MonitorTraffic => {
            let mono = clock.now().mono;
            if session.absent.iter().any(|a| *a) && mono >= session.look_again {
                let listed = session.client.interfaces()?;
                mark_absent(session, &names, &listed, mono);
            }
            let mut retried = false;
            loop {
                let asked: Vec<&str> = names
                    .iter()
                    .zip(&session.absent)
                    .filter(|(_, absent)| !**absent)
                    .map(|(name, _)| *name)
                    .collect();
                let rates = match asked.is_empty() {
                    true => Vec::new(),
                    false => match session.client.monitor_traffic_once(&asked) {
                        Err(client::Error::UnknownInterface { available, .. }) if !retried => {
                            // Someone is missing: find out who, and ask the
                            // others again at once.
                            let listed: Vec<client::Interface> = available
                                .into_iter()
                                .map(|name| client::Interface {
                                    name,
                                    kind: String::new(),
                                    running: true,
                                    disabled: false,
                                    comment: None,
                                })
                                .collect();
                            mark_absent(session, &names, &listed, mono);
                            retried = true;
                            continue;
                        }
                        other => other?,
                    },
                };
                let mut rates = rates.into_iter();
                return Ok(session
                    .absent
                    .iter()
                    .map(|absent| {
                        if *absent {
                            return None;
                        }
                        rates.next().map(|r| {
                            let value = Value::Rates {
                                rx_bps: r.rx_bps as f64,
                                tx_bps: r.tx_bps as f64,
                            };
                            (None, value)
                        })
                    })
                    .collect());
            }
        }
    }
}

/// Notes which of `names` the router's list lacks, to be looked for again
/// after [`MISSING_RECHECK`].
fn mark_absent(session: &mut Session, names: &[&str], listed: &[client::Interface], mono: f64) {
    session.absent = names
        .iter()
        .map(|name| !listed.iter().any(|i| i.name == *name))
        .collect();
    session.look_again = mono + MISSING_RECHECK;
}

/// Feeds each slot's reading to its tracker, and keeps the missing ones'
/// state and the live samples.
fn observe(slots: &mut [Slot], session: &Session, values: Vec<Option<Got>>, now: Now) {
    for (slot, value) in slots.iter_mut().zip(values) {
        let Some((id, value)) = value else {
            let message = format!(
                "the router does not list the interface {}; it stays unknown until it is back",
                escape(&slot.name)
            );
            if let Some(Said::Started(_)) = slot.missing.failed(now.wall, &message) {
                log::warn!("{}: {message}", slot.id);
            }
            let problem = slot.missing.problem();
            slot.health.update(|h| h.missing = problem);
            continue;
        };
        let counters = match value {
            Value::Counters { rx_bytes, tx_bytes } => Some((rx_bytes, tx_bytes)),
            Value::Rates { .. } => None,
        };
        if let Some(Said::Ended { seconds, .. }) = slot.missing.ended(now.wall) {
            log::info!(
                "{}: the router lists the interface again, after {seconds} s",
                slot.id,
                seconds = fixed(seconds, 0)
            );
            slot.health.update(|h| h.missing = None);
        }
        let event = slot.tracker.observe(Reading {
            mono: now.mono,
            wall: now.wall,
            boot: session.boot,
            id,
            value,
        });
        if let Some(event) = event {
            log_event(&slot.id, &event);
        }
        let sample = slot.tracker.latest_rates().map(|(rx_bps, tx_bps)| Sample {
            at: now.wall,
            rx_bps,
            tx_bps,
        });
        // One update, so that a reader sees counters and sample together.
        slot.health.update(|h| {
            h.last_sample = sample.or(h.last_sample);
            h.counters = counters.or(h.counters);
        });
    }
}

/// Opens files, starts and finishes creations, retries failed files.
fn service_files(job: &Job, slots: &mut [Slot], now: Now) {
    for slot in slots.iter_mut() {
        if let Some(creation) = &mut slot.creation {
            match creation.poll() {
                None => continue,
                Some(Ok(())) => {
                    log::info!("{}: created {}", slot.id, escape_path(&slot.path));
                    slot.creation = None;
                    slot.opened = false;
                }
                Some(Err(error)) => {
                    slot.creation = None;
                    fail_file(slot, now.mono, FileProblem::from_store(&error));
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
                slot.id,
                escape_path(&slot.path),
                job.profile.name()
            );
            // The file starts before every held sample (and a little
            // before now), so that they all stamp after its first update.
            let offset = now.wall - now.mono;
            let oldest = slot.tracker.held_since(offset).unwrap_or(now.wall);
            let start = (oldest.min(now.wall - 10.0) - 1.0).floor() as i64;
            slot.creation = Some(Creation::start(slot.path.clone(), job.profile, start));
            slot.health.update(|h| h.file = FileState::Creating);
            continue;
        }
        match store::open(&slot.path) {
            Ok(last) => {
                if slot.failure.take().is_some() {
                    log::info!("{}: {} is usable again", slot.id, escape_path(&slot.path));
                }
                if !slot.opened {
                    slot.opened = true;
                    slot.updater = None;
                    slot.dropping = drop_page_cache(job.files.clone(), slot.path.clone());
                }
                slot.tracker.file_ready(last);
                slot.retry_at = None;
                slot.health.update(|h| h.file = FileState::Ready);
            }
            Err(error) => fail_file(slot, now.mono, FileProblem::from_store(&error)),
        }
    }
}

/// Marks a file unusable until [`FILE_RETRY`] has passed; logs the
/// message when it differs from the last one.
fn fail_file(slot: &mut Slot, mono: f64, problem: FileProblem) {
    slot.updater = None;
    if slot.failure.as_deref() != Some(problem.message.as_str()) {
        log::error!(
            "{}: {}; trying again every {} s",
            slot.id,
            escape(&problem.message),
            FILE_RETRY.as_secs()
        );
    }
    slot.retry_at = Some(mono + FILE_RETRY.as_secs_f64());
    slot.failure = Some(problem.message.clone());
    slot.health.update(|h| h.file = FileState::Failed(problem));
}

/// A file just created, or opened for the first time by this collector,
/// may sit in the page cache in large folios (a whole new file does, on
/// Linux 6.x with ext4), so that each per-second update would dirty a
/// whole folio (2 MiB written back for a few bytes): flush and drop its
/// cached pages, so that later updates read back and dirty only the 4 KiB
/// pages they touch (librrd maps the file with `MADV_RANDOM`). Only clean
/// pages can be dropped, so the last flush and the drop run under the
/// file's write lock, between two updates; the bulk is flushed before, so
/// the lock is held briefly. On a thread of its own, since flushing a new
/// file of hundreds of MB takes a while on an SD card; failures only cost
/// the write savings and are logged at debug. Pages mapped by a process
/// are not dropped, so the collector keeps no updater of the file open
/// until the thread has ended (see [`update_file`]).
fn drop_page_cache(files: Files, path: PathBuf) -> Option<JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("drop page cache".into())
        .spawn(move || {
            let dropped = std::fs::File::open(&path).and_then(|file| {
                file.sync_data()?;
                files.writing(&path, || {
                    file.sync_data()?;
                    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)?;
                    Ok(())
                })
            });
            if let Err(error) = dropped {
                log::debug!(
                    "cannot drop the page cache of {}: {error}",
                    escape_path(&path)
                );
            }
        });
    spawned
        .inspect_err(|error| log::debug!("cannot start a thread to drop a page cache: {error}"))
        .ok()
}

/// Writes `lines` to `path`: through the slot's updater, which keeps the
/// file open between writes (made at the first write), unless the file's
/// page cache is still being dropped, which a mapping would defeat; then
/// with a plain update, which opens and closes the file.
fn update_file(
    path: &Path,
    updater: &mut Option<rrd::Updater>,
    dropping: &mut Option<JoinHandle<()>>,
    lines: &[String],
) -> Result<(), rrd::Error> {
    if dropping
        .as_ref()
        .is_some_and(|thread| !thread.is_finished())
    {
        return rrd::update(path, lines);
    }
    *dropping = None;
    let kept = match updater.take() {
        Some(kept) => kept,
        None => rrd::Updater::new(path)?,
    };
    updater.insert(kept).update(lines)
}

/// Writes what each tracker plans, `now` being the clocks read just
/// before; a failed write is logged once per streak and retried with the
/// next sample.
fn write(job: &Job, slots: &mut [Slot], now: Now) {
    let (offset, wall) = (now.wall - now.mono, now.wall);
    for slot in slots.iter_mut() {
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
        let (path, updater, dropping) = (&slot.path, &mut slot.updater, &mut slot.dropping);
        let result = job.files.writing(path, || {
            (!job.stop.is_set()).then(|| update_file(path, updater, dropping, &lines))
        });
        let Some(result) = result else {
            return;
        };
        match result {
            Ok(()) => {
                let written = slot.tracker.written(&plan);
                if let Some(Said::Ended { seconds, count }) = slot.writes.ended(wall) {
                    log::info!(
                        "{}: writing {} works again, after {count} failed write{} over {seconds} s (the samples were kept)",
                        slot.id,
                        escape_path(&slot.path),
                        if count == 1 { "" } else { "s" },
                        seconds = fixed(seconds, 0)
                    );
                    slot.health.update(|h| h.file = FileState::Ready);
                }
                log_backfill(slot, written.backfilled);
                log_lost(slot, written.lost);
                slot.health.update(|h| {
                    h.samples_written += written.lines as u64;
                    h.seconds_backfilled += written.backfilled;
                    h.seconds_lost += written.unknown + written.lost + written.trimmed;
                });
            }
            Err(error) => {
                slot.updater = None;
                let problem = FileProblem::from_rrd(&error);
                if let Some(Said::Started(message)) = slot.writes.failed(wall, &problem.message) {
                    log::warn!(
                        "{}: {}; the samples are kept and written with the next one",
                        slot.id,
                        escape(&message)
                    );
                }
                slot.health.update(|h| {
                    h.file = FileState::Failed(problem.clone());
                    h.write_errors += 1;
                });
                // Another process reading the file holds librrd's lock
                // (which never waits): nothing was written, try again.
                if error.kind() == rrd::ErrorKind::Locked {
                    continue;
                }
                match rrd::last(&slot.path) {
                    Ok(last) => slot.tracker.resync(last as f64, offset),
                    Err(error) => {
                        slot.tracker.file_gone();
                        slot.writes = Streak::default();
                        let mono = job.clock.now().mono;
                        fail_file(slot, mono, FileProblem::from_rrd(&error));
                    }
                }
            }
        }
    }
}

/// Logs backfill once when it starts and once, with the total, when a
/// write needs none again.
fn log_backfill(slot: &mut Slot, seconds: f64) {
    match (&mut slot.backfill, seconds > 0.0) {
        (None, true) => {
            log::info!(
                "{}: backfilling {seconds} s of gap with its average rate (the counters prove continuity)",
                slot.id,
                seconds = fixed(seconds, 0)
            );
            slot.backfill = Some(seconds);
        }
        (Some(total), true) => *total += seconds,
        (Some(total), false) => {
            if *total > 0.0 {
                log::info!(
                    "{}: backfilled {total} s in all; per-second samples again",
                    slot.id,
                    total = fixed(*total, 0)
                );
            }
            slot.backfill = None;
        }
        (None, false) => {}
    }
}

/// Logs samples given up once when it starts and once with the total.
fn log_lost(slot: &mut Slot, seconds: f64) {
    match (&mut slot.lost, seconds > 0.0) {
        (None, true) => {
            log::warn!(
                "{}: {seconds} s of samples given up: they were taken while the wall clock was behind the file's last update, or held too long",
                slot.id,
                seconds = fixed(seconds, 0)
            );
            slot.lost = Some(seconds);
        }
        (Some(total), true) => *total += seconds,
        (Some(total), false) => {
            log::info!(
                "{}: {total} s of samples given up in all",
                slot.id,
                total = fixed(*total, 0)
            );
            slot.lost = None;
        }
        (None, false) => {}
    }
}

fn log_event(id: &str, event: &Event) {
    match event {
        Event::CounterWentDown { seconds } => log::warn!(
            "{id}: a byte counter went down (counters reset, or the router rebooted): {seconds} s stay unknown",
            seconds = fixed(*seconds, 0)
        ),
        Event::Rebooted { seconds } => {
            log::warn!(
                "{id}: the router rebooted: {seconds} s stay unknown",
                seconds = fixed(*seconds, 0)
            )
        }
        Event::Replaced { seconds } => log::warn!(
            "{id}: the interface was re-created (its id changed): {seconds} s stay unknown",
            seconds = fixed(*seconds, 0)
        ),
        Event::GapAcrossClockStep { seconds } => {
            log::warn!(
                "{id}: {seconds} s gap during a wall-clock step: left unknown",
                seconds = fixed(*seconds, 0)
            )
        }
        Event::GapWithoutCounters { seconds } => {
            log::warn!(
                "{id}: {seconds} s gap with monitor-traffic as the source: left unknown",
                seconds = fixed(*seconds, 0)
            )
        }
    }
}

/// A path for the log.
fn escape_path(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
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
    fn a_streak_is_said_when_it_starts_changes_and_ends() {
        let mut streak = Streak::default();
        assert_eq!(streak.ended(5.0), None);
        assert_eq!(
            streak.failed(10.0, "refused"),
            Some(Said::Started("refused".into()))
        );
        for t in 11..20 {
            assert_eq!(streak.failed(f64::from(t), "refused"), None);
        }
        assert_eq!(streak.problem().map(|p| p.since), Some(10.0));
        assert_eq!(
            streak.failed(20.0, "timed out"),
            Some(Said::Started("timed out".into()))
        );
        assert_eq!(
            streak.problem().map(|p| (p.since, p.message)),
            Some((10.0, "timed out".into()))
        );
        assert_eq!(
            streak.ended(31.5),
            Some(Said::Ended {
                seconds: 21.5,
                count: 11
            })
        );
        assert_eq!(streak.problem(), None);
        assert_eq!(streak.ended(32.0), None);
    }

    #[test]
    fn pacing_lands_just_after_the_next_second() {
        assert_eq!(until_next_second(100.0), Duration::from_millis(1002));
        assert!((until_next_second(100.75).as_secs_f64() - 0.252).abs() < 1e-9);
    }
}
