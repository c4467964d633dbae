//! The RRD store: the only module that calls librrd, and the only `unsafe`
//! code in the crate. It creates, updates, reads the header of, and fetches
//! from RRD files through `rrd-sys` (raw bindgen bindings) on the static,
//! graph-less librrd 1.7.2 that `scripts/build-librrd.sh` builds. It turns
//! Rust values into librrd's C arguments, copies librrd's results into plain
//! Rust data, frees librrd's memory, and reports failures as [`Error`] with
//! librrd's own message. It reads no clock; the one state it keeps between
//! calls is an [`Updater`]'s open file. [`read_ahead`] asks the kernel to
//! read the rows a fetch will need in large requests (librrd's own mapping
//! reads a page at a time).
//!
//! # Thread safety (rrdthreads(1) of rrdtool 1.7.2)
//!
//! - Only the `_r` functions are used: `rrd_create_r2` (the `rrd_create_r`
//!   family), `rrd_updatex_r` (and the `rrd_updater_*_r` functions of
//!   `scripts/librrd-update.patch`, which run its code), `rrd_fetch_r`,
//!   `rrd_info_r` and `rrd_last_r` are the thread-safe ones. They work on the file directly; the argv-style
//!   functions would also consult rrdcached (`RRDCACHED_ADDRESS`) and are not
//!   thread-safe. No global lock is needed around these calls.
//! - No AT-style times (`now-2`, `N`, `@…`): their parser is not thread-safe
//!   and they would read the clock. Times are passed as Unix seconds, and
//!   [`update`] refuses anything else.
//! - librrd keeps its error message in a per-thread context. Each call here
//!   first makes sure this thread's context exists (`rrd_get_context`, the
//!   allocation rrdthreads(1) asks to check), clears it (`rrd_clear_error`),
//!   calls librrd, and on failure copies `rrd_get_error()` before anything
//!   else can overwrite it.
//! - One writer per file is the caller's job (the collector alone writes its
//!   files). librrd's own lock is `fcntl(F_SETLK)`: non-blocking and per
//!   process. Another process that updates or fetches the same file at the
//!   same moment makes one side fail with "could not lock RRD"; threads of
//!   this process do not exclude each other at all, so a [`fetch`] that runs
//!   while this process updates the same file may see that update half
//!   applied. Callers that must not see that serialise the two themselves.
//!
//! RRD files are in the CPU's native format (`time_t` and `long` widths):
//! a file written on armv7 does not open on x86_64 or aarch64.
//!
//! # The one other foreign call: glibc's `mallopt`
//!
//! [`bound_malloc`] is the only foreign call here that is not librrd's
//! (it lives here to keep all `unsafe` in one module). glibc's malloc
//! gives threads that contend for it arenas of their own, up to 8 per
//! core, and keeps what is freed in each: a web flood that runs 64
//! connection threads at once leaves ~10 arenas of a few hundred KB each
//! resident for good. The daemon calls it first thing, before any thread
//! starts, to use at most [`MALLOC_ARENAS`] arenas.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_ulong};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

use rrd_sys::{rrd_info_t, time_t};

/// The most malloc arenas [`bound_malloc`] allows: the main one and one
/// more, so that the collector and the web threads seldom wait for each
/// other's allocations.
pub const MALLOC_ARENAS: i32 = 2;

/// glibc's `mallopt` parameter for the most arenas (`<malloc.h>`).
#[cfg(target_env = "gnu")]
const M_ARENA_MAX: c_int = -8;

#[cfg(target_env = "gnu")]
unsafe extern "C" {
    /// glibc's `mallopt(3)`: 1 when the parameter was set, 0 when not.
    fn mallopt(param: c_int, value: c_int) -> c_int;
}

/// Limits glibc's malloc to [`MALLOC_ARENAS`] arenas (see the module
/// documentation); arenas already made stay. Whether it was set; false
/// on C libraries other than glibc, which have no such setting.
pub fn bound_malloc() -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only sets a parameter of malloc, under malloc's
        // own lock, and takes plain integers.
        unsafe { mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1 }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        false
    }
}

/// A failed librrd call, or arguments refused before librrd was called.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    call: &'static str,
    path: PathBuf,
    message: String,
}

/// What kind of failure an [`Error`] is, for callers that react to it
/// (the collector retries a locked file without resyncing; the health
/// state names the reason in words).
///
/// librrd reports failures as text only: the kind is read from its
/// message, here and nowhere else. "could not lock RRD" is librrd's own
/// text for `fcntl(F_SETLK)` refused; the others are the C library's
/// `strerror` texts that librrd appends to its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another process holds librrd's lock on the file.
    Locked,
    /// The file system is full.
    NoSpace,
    /// An allocation failed.
    NoMemory,
    /// The file or directory may not be opened or written.
    PermissionDenied,
    /// The file does not exist.
    NotFound,
    /// Anything else.
    Other,
}

/// What [`info`] reports about a file (the fields this program uses).
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// Seconds per primary data point.
    pub step: u64,
    /// Unix time of the last update, whole seconds (librrd keeps the
    /// microseconds too, but `rrd_info_r` does not report them).
    pub last_update: i64,
    /// The data sources, in the file's order.
    pub data_sources: Vec<DataSource>,
    /// The round-robin archives, in the file's order.
    pub archives: Vec<Archive>,
}

/// One data source of an RRD file.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSource {
    /// Its name, e.g. `rx`.
    pub name: String,
    /// Its type: `GAUGE`, `COUNTER`, `DERIVE`, `DCOUNTER`, `DDERIVE`,
    /// `ABSOLUTE` or `COMPUTE`.
    pub kind: String,
    /// Seconds without an update after which the value becomes unknown
    /// (0 for `COMPUTE`, which has none).
    pub heartbeat: u64,
    /// Lowest accepted value; `None` for `U` (no limit).
    pub min: Option<f64>,
    /// Highest accepted value; `None` for `U` (no limit).
    pub max: Option<f64>,
}

/// One round-robin archive of an RRD file.
#[derive(Clone, Debug, PartialEq)]
pub struct Archive {
    /// The consolidation function: `AVERAGE`, `MIN`, `MAX`, `LAST`, ….
    pub cf: String,
    /// Primary data points per row (the row's width is this × step).
    pub pdp_per_row: u64,
    /// Number of rows.
    pub rows: u64,
    /// The x-files factor: the share of unknown points a row may have and
    /// still be known (0 for archives that have none).
    pub xff: f64,
}

/// The rows [`fetch`] returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    /// The requested start, rounded down to a multiple of `step`.
    pub start: i64,
    /// The requested end, rounded up past it to the next multiple of `step`.
    pub end: i64,
    /// Seconds per row: the step of the archive librrd chose.
    pub step: u64,
    /// Data source names; each row has one value per name, in this order.
    pub names: Vec<String>,
    /// Row-major values, `rows() × names.len()`; NaN where unknown.
    pub values: Vec<f64>,
}

impl Error {
    /// librrd's message (or the reason the arguments were refused), without
    /// the call and path that `Display` adds.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The kind of failure, read from librrd's message.
    pub fn kind(&self) -> ErrorKind {
        let message = self.message.as_str();
        let has = |text: &str| message.contains(text);
        if has("could not lock RRD") {
            ErrorKind::Locked
        } else if has("No space left on device") || has("Disk quota exceeded") {
            ErrorKind::NoSpace
        } else if has("Cannot allocate memory") || has("out of memory") {
            ErrorKind::NoMemory
        } else if has("Permission denied") || has("Read-only file system") {
            ErrorKind::PermissionDenied
        } else if has("No such file or directory") {
            ErrorKind::NotFound
        } else {
            ErrorKind::Other
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rrd {} of {} failed: {}",
            self.call,
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for Error {}

impl Fetched {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self.names.len() {
            0 => 0,
            width => self.values.len() / width,
        }
    }

    /// The values of row `i`, one per name. Panics if `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        let width = self.names.len();
        &self.values[i * width..(i + 1) * width]
    }

    /// The end of the interval row `i` covers, `start + (i + 1) × step`: a
    /// row holds the consolidated data of `(row_time - step, row_time]`, the
    /// time `rrdtool fetch` prints in front of it.
    pub fn row_time(&self, i: usize) -> i64 {
        // Rows fit in memory, so `i + 1` and the step fit in i64.
        self.start + (i as i64 + 1) * self.step as i64
    }
}

/// Creates an RRD file with `rrd_create_r2`.
///
/// `step` is the seconds per primary data point; `start` is the file's
/// initial last-update time in Unix seconds (positive), so the first update
/// must be later. `definitions` are librrd's `DS:` and `RRA:` strings, e.g.
/// `DS:rx:GAUGE:3:0:U` and `RRA:AVERAGE:0.5:1:31557600`. librrd writes the
/// whole file (every row, unknown) under a temporary name (the path and six
/// random characters, `mkstemp`) and renames it into place. The librrd
/// linked here is patched (`scripts/librrd-create.patch`) to write the rows
/// from a 64 KiB buffer: memory does not grow with the file, where stock
/// librrd 1.7 allocates all of it first. With `no_overwrite`, an existing
/// file is an error and stays as it is; without it, it is replaced.
///
/// Errors: librrd's message (a bad definition, an existing file with
/// `no_overwrite`, I/O), or a NUL byte in an argument, `start <= 0` (librrd
/// would take the clock instead), or a value `time_t`/`long` cannot hold.
pub fn create(
    path: &Path,
    step: u64,
    start: i64,
    no_overwrite: bool,
    definitions: &[String],
) -> Result<(), Error> {
    let refuse = |message: String| error("create", path, message);
    if start <= 0 {
        return Err(refuse(format!(
            "start {start} is not a Unix time after 1970"
        )));
    }
    let c_path = c_string(path.as_os_str().as_bytes(), "the path").map_err(refuse)?;
    let c_step = c_ulong::try_from(step)
        .map_err(|_| refuse(format!("step {step} does not fit a C long")))?;
    let c_start =
        to_time_t(start).ok_or_else(|| refuse(format!("start {start} does not fit time_t")))?;
    let mut args = CArgs::new(definitions).map_err(refuse)?;
    call_librrd("create", path, || {
        // SAFETY: the path and every argv entry are NUL-terminated strings
        // owned by `c_path` and `args`, which outlive the call; argc is the
        // length of argv. Null sources and template mean "none", as
        // rrd_create_r passes them. librrd only reads its arguments.
        let rc = unsafe {
            rrd_sys::rrd_create_r2(
                c_path.as_ptr(),
                c_step,
                c_start,
                c_int::from(no_overwrite),
                ptr::null_mut(),
                ptr::null(),
                args.argc,
                args.pointers.as_mut_ptr(),
            )
        };
        (rc == 0).then_some(())
    })
}

/// Writes updates with `rrd_updatex_r` (no template, no flags), all in one
/// call: each is `<time>:<rx>:<tx>` as made by [`update_line`], with the
/// time in Unix seconds (a fraction allowed) and `U` for an unknown value.
///
/// Each time must be later than the file's last update, or librrd refuses
/// it ("illegal attempt to update using time …"). librrd applies the
/// updates in order and stops at the first bad one; the ones before it stay
/// written (it writes through a shared mapping and has no rollback). A
/// single refused update leaves the file unchanged. An empty `updates` does
/// nothing.
///
/// Errors: librrd's message (it begins with the file's path), or a NUL
/// byte, or a time that is not plain non-negative Unix seconds (`N`,
/// AT-style `@` times and negative times, which librrd would resolve
/// against the clock, are refused before librrd is called).
pub fn update(path: &Path, updates: &[String]) -> Result<(), Error> {
    let refuse = |message: String| error("update", path, message);
    let Some(mut args) = update_args(path, updates)? else {
        return Ok(());
    };
    let c_path = c_string(path.as_os_str().as_bytes(), "the path").map_err(refuse)?;
    call_librrd("update", path, || {
        // SAFETY: as in `create`: NUL-terminated strings owned by `c_path`
        // and `args` for the duration of the call, argc = argv's length; a
        // null template means the file's DS order. librrd copies each entry
        // (strdup) before cutting it up, so argv is not written.
        let rc = unsafe {
            rrd_sys::rrd_updatex_r(
                c_path.as_ptr(),
                ptr::null(),
                0,
                args.argc,
                args.pointers.as_mut_ptr(),
            )
        };
        (rc == 0).then_some(())
    })
}

/// The checked C arguments of [`update`] and [`Updater::update`]; `None`
/// for no updates.
fn update_args(path: &Path, updates: &[String]) -> Result<Option<CArgs>, Error> {
    let refuse = |message: String| error("update", path, message);
    if updates.is_empty() {
        return Ok(None);
    }
    for line in updates {
        check_update_time(line).map_err(refuse)?;
    }
    CArgs::new(updates).map(Some).map_err(refuse)
}

/// Updates this many times through one opening of the file at most, so
/// that the pages an updater has mapped (the rows it wrote since) stay
/// few: the file is opened again after them.
const UPDATES_PER_OPENING: u32 = 300;

/// One file updated again and again (the collector's per-second writes),
/// through librrd's updater (`scripts/librrd-update.patch`): the file stays
/// open and mapped between updates, instead of being opened, locked,
/// mapped, read and closed by every [`update`], which took most of the
/// daemon's idle CPU time. Each update writes exactly what [`update`]
/// writes, with the same errors and the same lock (taken for the update
/// only); librrd opens the file again when the path names another file, a
/// file of another size or of another layout, and after
/// [`UPDATES_PER_OPENING`] updates. Between updates the file's pages stay
/// mapped, so its modification time moves only when a page written back
/// to the disk is written again, not at every update.
///
/// [`Updater::release`] closes the file until the next update; dropping
/// the updater closes it too.
pub struct Updater {
    raw: NonNull<rrd_sys::rrd_updater_t>,
    path: PathBuf,
    /// Updates since the file was last released.
    updates: u32,
}

// SAFETY: the updater is librrd heap memory (a path, a header copy, an open
// descriptor and mapping) owned by this value alone and used only through
// `&mut self`; it holds nothing tied to the thread that made it (librrd's
// error context is looked up per call).
unsafe impl Send for Updater {}

impl Updater {
    /// An updater of `path`; the file is opened at the first update.
    ///
    /// Errors: a NUL byte in the path, or no memory.
    pub fn new(path: &Path) -> Result<Updater, Error> {
        let c_path = c_string(path.as_os_str().as_bytes(), "the path")
            .map_err(|message| error("update", path, message))?;
        let raw = call_librrd("update", path, || {
            // SAFETY: a NUL-terminated string that librrd copies (strdup)
            // before returning; the result is null only on failure.
            NonNull::new(unsafe { rrd_sys::rrd_updater_new_r(c_path.as_ptr()) })
        })?;
        Ok(Updater {
            raw,
            path: path.to_path_buf(),
            updates: 0,
        })
    }

    /// Writes `updates` as [`update`] does (same lines, checks, errors).
    pub fn update(&mut self, updates: &[String]) -> Result<(), Error> {
        let Some(mut args) = update_args(&self.path, updates)? else {
            return Ok(());
        };
        if self.updates >= UPDATES_PER_OPENING {
            self.release();
        }
        self.updates += 1;
        let raw = self.raw;
        call_librrd("update", &self.path, || {
            // SAFETY: `raw` is a live updater owned by `self`; as in
            // `update`, argv holds argc NUL-terminated strings owned by
            // `args` for the call, which librrd copies before cutting up.
            let rc = unsafe {
                rrd_sys::rrd_updater_update_r(raw.as_ptr(), args.argc, args.pointers.as_mut_ptr())
            };
            (rc == 0).then_some(())
        })
    }

    /// Closes the file (unmaps it) until the next update.
    pub fn release(&mut self) {
        // SAFETY: `raw` is a live updater owned by `self`.
        unsafe { rrd_sys::rrd_updater_release_r(self.raw.as_ptr()) };
        self.updates = 0;
    }
}

impl Drop for Updater {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rrd_updater_new_r and is freed only here,
        // once.
        unsafe { rrd_sys::rrd_updater_free_r(self.raw.as_ptr()) }
    }
}

/// Reads a file's header with `rrd_info_r`: step, last update, data sources
/// and archives.
///
/// Errors: librrd's message (missing file, not an RRD file, an RRD file of
/// another CPU architecture, locked by another process's update), or a NUL
/// byte in the path.
pub fn info(path: &Path) -> Result<Info, Error> {
    let entries = info_entries(path)?;
    info_from_entries(&entries).map_err(|message| error("info", path, message))
}

/// Every entry of `rrd_info_r`'s list for the file at `path`.
fn info_entries(path: &Path) -> Result<Vec<(String, InfoValue)>, Error> {
    let refuse = |message: String| error("info", path, message);
    let c_path = c_string(path.as_os_str().as_bytes(), "the path").map_err(refuse)?;
    let head = call_librrd("info", path, || {
        // SAFETY: `c_path` is a NUL-terminated string that outlives the
        // call. The result is a list librrd allocated (or null on error),
        // owned by us from here on and freed by `InfoList`'s drop.
        NonNull::new(unsafe { rrd_sys::rrd_info_r(c_path.as_ptr()) })
    })?;
    let list = InfoList(head);
    let mut entries = Vec::new();
    let mut node: *const rrd_info_t = list.0.as_ptr();
    while !node.is_null() {
        // SAFETY: `node` is the head or a `next` of the list rrd_info_r
        // returned; `list` keeps it alive until the end of this function and
        // nothing else frees or changes it.
        let entry = unsafe { &*node };
        // SAFETY: librrd sets every key with sprintf_alloc: a non-null,
        // NUL-terminated string living as long as the entry.
        let key = unsafe { CStr::from_ptr(entry.key) }
            .to_string_lossy()
            .into_owned();
        let value = match entry.type_ {
            rrd_sys::rrd_info_type_RD_I_CNT => {
                // SAFETY: for RD_I_CNT, rrd_info_push wrote the `u_cnt` member.
                InfoValue::Count(from_c_ulong(unsafe { entry.value.u_cnt }))
            }
            rrd_sys::rrd_info_type_RD_I_VAL => {
                // SAFETY: for RD_I_VAL, rrd_info_push wrote the `u_val` member.
                InfoValue::Number(unsafe { entry.value.u_val })
            }
            rrd_sys::rrd_info_type_RD_I_STR => {
                // SAFETY: for RD_I_STR, rrd_info_push wrote `u_str`: a
                // NUL-terminated copy (strdup) owned by the entry, or null.
                let text = unsafe {
                    let text = entry.value.u_str;
                    if text.is_null() {
                        String::new()
                    } else {
                        CStr::from_ptr(text).to_string_lossy().into_owned()
                    }
                };
                InfoValue::Text(text)
            }
            _ => InfoValue::Other,
        };
        entries.push((key, value));
        node = entry.next;
    }
    Ok(entries)
}

/// Asks the kernel to read into its page cache, in large requests, the rows
/// that [`fetch`] with the same arguments will read, and returns the byte
/// ranges of the file it asked for (in the order of the rows). librrd maps
/// the file with `MADV_RANDOM`, so rows that are not cached come in by
/// page faults of one 4 KiB page each, and the thread waits for each:
/// reading a few MB of rows of a file not read since it was opened (the
/// collector drops a file's page cache then) costs a wait per page. A hint
/// only: the rows are read without it too, more slowly.
///
/// The archive is the one [`fetch`] chooses (see there); its rows lie after
/// the header (`header_size`), after the archives before it, as a ring
/// whose newest row is `cur_row`, each row one value per data source.
///
/// Errors: those of [`info`], an archive missing from the header, or the
/// file not opened.
pub fn read_ahead(
    path: &Path,
    cf: &str,
    start: i64,
    end: i64,
    resolution: u64,
) -> Result<Vec<std::ops::Range<u64>>, Error> {
    let refuse = |message: String| error("read ahead", path, message);
    let entries = info_entries(path)?;
    let info = info_from_entries(&entries).map_err(refuse)?;
    let count = |key: &str| {
        entries.iter().find_map(|(k, v)| match v {
            InfoValue::Count(n) if k == key => Some(*n),
            _ => None,
        })
    };
    let Some(header) = count("header_size") else {
        return Err(refuse("librrd's info lacks the header size".to_string()));
    };
    let Some(chosen) = fetched_archive(&info, cf, start, resolution) else {
        return Ok(Vec::new());
    };
    let Some(cur_row) = count(&format!("rra[{chosen}].cur_row")) else {
        return Err(refuse(format!(
            "librrd's info lacks archive {chosen}'s row"
        )));
    };
    let sources = info.data_sources.len() as u64;
    let row_bytes = sources * 8;
    let base = header
        + info.archives[..chosen]
            .iter()
            .map(|a| a.rows * row_bytes)
            .sum::<u64>();
    let archive = &info.archives[chosen];
    let ranges = ring_ranges(&info, archive, cur_row, (start, end), (base, row_bytes));
    if ranges.is_empty() {
        return Ok(ranges);
    }
    let file = std::fs::File::open(path).map_err(|e| refuse(e.to_string()))?;
    for range in &ranges {
        let length = std::num::NonZeroU64::new(range.end - range.start);
        rustix::fs::fadvise(&file, range.start, length, rustix::fs::Advice::WillNeed)
            .map_err(|e| refuse(e.to_string()))?;
    }
    Ok(ranges)
}

/// The index of the archive [`fetch`] answers `cf`, `start`, `resolution`
/// from (see there), if any.
fn fetched_archive(info: &Info, cf: &str, start: i64, resolution: u64) -> Option<usize> {
    let simple = ["AVERAGE", "MIN", "MAX", "LAST"];
    let mut full: Option<(u64, usize)> = None;
    let mut partial: Option<(i64, u64, usize)> = None;
    for (i, archive) in info.archives.iter().enumerate() {
        let candidate = archive.cf == cf
            || (archive.pdp_per_row == 1
                && simple.contains(&archive.cf.as_str())
                && simple.contains(&cf));
        let step = archive.pdp_per_row.saturating_mul(info.step);
        let Some(r) = i64::try_from(step).ok().filter(|&r| r > 0) else {
            continue;
        };
        if !candidate {
            continue;
        }
        // Where its oldest row begins.
        let newest = info.last_update - info.last_update.rem_euclid(r);
        let rows = i64::try_from(archive.rows).unwrap_or(i64::MAX);
        let oldest = newest.saturating_sub(r.saturating_mul(rows));
        let diff = step.abs_diff(resolution);
        if oldest <= start {
            if full.is_none_or(|(best, _)| diff < best) {
                full = Some((diff, i));
            }
        } else if partial
            .is_none_or(|(reach, best, _)| oldest < reach || (oldest == reach && diff < best))
        {
            partial = Some((oldest, diff, i));
        }
    }
    full.map(|(_, i)| i).or(partial.map(|(_, _, i)| i))
}

/// The byte ranges of `archive`'s rows that a fetch of `(start, end]`
/// returns, with the archive's rows at `base`, `row_bytes` each, the newest
/// at index `cur_row`.
fn ring_ranges(
    info: &Info,
    archive: &Archive,
    cur_row: u64,
    (start, end): (i64, i64),
    (base, row_bytes): (u64, u64),
) -> Vec<std::ops::Range<u64>> {
    let Some(r) = archive
        .pdp_per_row
        .checked_mul(info.step)
        .and_then(|r| i64::try_from(r).ok())
        .filter(|&r| r > 0)
    else {
        return Vec::new();
    };
    let Ok(rows) = i64::try_from(archive.rows) else {
        return Vec::new();
    };
    let newest = info.last_update - info.last_update.rem_euclid(r);
    let oldest = newest - r * (rows - 1);
    // fetch's rows end at start rounded down plus one step, up to end
    // moved to the next multiple strictly after it.
    let first = (start - start.rem_euclid(r) + r).max(oldest);
    let last = (end - end.rem_euclid(r) + r).min(newest);
    if first > last || rows <= 0 || cur_row >= archive.rows {
        return Vec::new();
    }
    let index = |t: i64| (cur_row as i64 + 1 + (t - oldest) / r).rem_euclid(rows) as u64;
    let (a, b) = (index(first), index(last));
    let span = |from: u64, to: u64| base + from * row_bytes..base + (to + 1) * row_bytes;
    if a <= b {
        vec![span(a, b)]
    } else {
        vec![span(a, archive.rows - 1), span(0, b)]
    }
}

/// The file's last update time in whole Unix seconds, with `rrd_last_r`.
///
/// Errors: librrd's message (missing or unreadable file), or a NUL byte in
/// the path.
pub fn last(path: &Path) -> Result<i64, Error> {
    let refuse = |message: String| error("last", path, message);
    let c_path = c_string(path.as_os_str().as_bytes(), "the path").map_err(refuse)?;
    call_librrd("last", path, || {
        // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
        let last = unsafe { rrd_sys::rrd_last_r(c_path.as_ptr()) };
        // librrd returns -1 when it cannot read the file.
        (last != -1).then_some(from_time_t(last))
    })
}

/// Fetches consolidated rows with `rrd_fetch_r`.
///
/// `cf` is the consolidation function (`AVERAGE`, `MAX`, …); `start` and
/// `end` are Unix seconds with `0 <= start <= end`; `resolution` is the
/// wanted seconds per row (0 picks the finest archive that covers `start`).
///
/// How librrd 1.7.2 chooses the archive (`rrd_fetch_fn` in
/// `src/rrd_fetch.c`):
///
/// - Candidates are the archives with this CF, and also, for `AVERAGE`,
///   `MIN`, `MAX` and `LAST`, any archive of those four with one point per
///   row (one point consolidates to itself): a `MAX` request at resolution
///   1 is answered from an `AVERAGE` archive of width 1.
/// - A candidate "covers" the request if its oldest row, counted back from
///   the last update rounded down to the archive's step, begins at or before
///   `start`. The end is not considered.
/// - Among covering archives, the one whose step is closest to `resolution`
///   wins (the first in file order on a tie), however coarse. If none
///   covers `start`, the one reaching furthest back wins, then the closest
///   step. No candidate at all is an error ("the RRD does not contain an
///   RRA matching the chosen CF").
///
/// Rounding, with `step` the chosen archive's step: `start` is rounded down
/// to a multiple of `step`, and `end` is moved up to the next multiple of
/// `step` strictly after it (an `end` already on a multiple still gains one
/// step). The result has `(end - start) / step` rows; row `i` covers
/// `(start + i·step, start + (i+1)·step]` ([`Fetched::row_time`]). Rows
/// before the archive's oldest or after its newest row, and rows without
/// data, are NaN. `rrdtool fetch -s start -e end -r resolution` prints the
/// same rows.
///
/// Errors: librrd's message (missing file, unknown CF, no matching archive),
/// or a NUL byte, `start < 0`, `end < start`, or a value `time_t`/`long`
/// cannot hold.
pub fn fetch(
    path: &Path,
    cf: &str,
    start: i64,
    end: i64,
    resolution: u64,
) -> Result<Fetched, Error> {
    let refuse = |message: String| error("fetch", path, message);
    if start < 0 || end < start {
        return Err(refuse(format!(
            "the window {start}..{end} must have 0 <= start <= end"
        )));
    }
    let c_path = c_string(path.as_os_str().as_bytes(), "the path").map_err(refuse)?;
    let c_cf = c_string(cf.as_bytes(), "the consolidation function").map_err(refuse)?;
    let (Some(mut c_start), Some(mut c_end)) = (to_time_t(start), to_time_t(end)) else {
        return Err(refuse(format!(
            "the window {start}..{end} does not fit time_t"
        )));
    };
    let mut c_step = c_ulong::try_from(resolution)
        .map_err(|_| refuse(format!("resolution {resolution} does not fit a C long")))?;
    let mut ds_count: c_ulong = 0;
    let mut names: *mut *mut c_char = ptr::null_mut();
    let mut data: *mut f64 = ptr::null_mut();
    call_librrd("fetch", path, || {
        // SAFETY: path and CF are NUL-terminated strings that outlive the
        // call; every out-pointer points to a live local of the type librrd
        // writes. On success librrd has malloc'ed `names` (ds_count strings)
        // and `data` (at least rows × ds_count values) for us; on failure it
        // has freed whatever it allocated, and we free nothing.
        let rc = unsafe {
            rrd_sys::rrd_fetch_r(
                c_path.as_ptr(),
                c_cf.as_ptr(),
                &mut c_start,
                &mut c_end,
                &mut c_step,
                &mut ds_count,
                &mut names,
                &mut data,
            )
        };
        (rc == 0).then_some(())
    })?;
    let buffers = FetchBuffers {
        names,
        count: usize::try_from(ds_count).unwrap_or(0),
        data,
    };
    let (start, end, step) = (
        from_time_t(c_start),
        from_time_t(c_end),
        from_c_ulong(c_step),
    );
    let rows = (end - start)
        .checked_div(i64::try_from(step).unwrap_or(0))
        .and_then(|rows| usize::try_from(rows).ok());
    let Some(length) = rows.and_then(|rows| rows.checked_mul(buffers.count)) else {
        return Err(refuse(format!(
            "librrd returned an impossible window {start}..{end} step {step}"
        )));
    };
    let mut names = Vec::with_capacity(buffers.count);
    for i in 0..buffers.count {
        // SAFETY: `names` holds `count` pointers, each to a NUL-terminated
        // name librrd copied (strncpy and an explicit NUL).
        let name = unsafe { CStr::from_ptr(*buffers.names.add(i)) };
        names.push(name.to_string_lossy().into_owned());
    }
    let values = match length {
        0 => Vec::new(),
        // SAFETY: librrd allocated ds_count × ((end - start) / step + 1)
        // values and filled the first `length` of them; `buffers` keeps them
        // alive until they are copied here.
        _ => unsafe { std::slice::from_raw_parts(buffers.data, length) }.to_vec(),
    };
    Ok(Fetched {
        start,
        end,
        step,
        names,
        values,
    })
}

/// The update string for one sample: `<at>:<rx>:<tx>`.
///
/// `at` is Unix seconds, written with six decimals (microseconds). librrd
/// 1.7.2 parses it with its own `rrd_strtod` into a double (all digits as
/// one integer, then divided by powers of ten) and keeps
/// `floor(t)` seconds plus `(long)((t - floor(t)) · 10⁶)` microseconds
/// (`get_time_from_reading` in `src/rrd_update.c`), stored in the file's
/// `last_up_usec`. The truncation makes about half of all written
/// microsecond values arrive one microsecond low, so the kept precision is
/// 1 µs, rounded down by up to 1 µs: two updates must be at least 2 µs
/// apart to be sure the second counts as later. `at` must be finite and not
/// negative, or [`update`] refuses the line.
///
/// Values are written in plain decimal, without an exponent and with the
/// shortest digits that give back the same `f64`; `None`, NaN and infinities
/// become `U` (unknown).
pub fn update_line(at: f64, rx: Option<f64>, tx: Option<f64>) -> String {
    // The collector writes one a second: one allocation, no formatter.
    let mut line = String::with_capacity(64);
    crate::text::push_fixed(&mut line, at, 6);
    for value in [rx, tx] {
        line.push(':');
        match value {
            Some(v) if v.is_finite() => crate::text::push_shortest(&mut line, v),
            _ => line.push('U'),
        }
    }
    line
}

/// A value of one `rrd_info_t` entry.
#[derive(Clone, Debug, PartialEq)]
enum InfoValue {
    Count(u64),
    Number(f64),
    Text(String),
    Other,
}

/// argv for librrd: the strings and the pointer array that refers to them.
struct CArgs {
    /// Owns the strings `pointers` points into.
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
    argc: c_int,
}

/// The list `rrd_info_r` returned; freed on drop.
struct InfoList(NonNull<rrd_info_t>);

/// The names and data `rrd_fetch_r` returned; freed on drop.
struct FetchBuffers {
    names: *mut *mut c_char,
    count: usize,
    data: *mut f64,
}

impl CArgs {
    fn new(args: &[String]) -> Result<CArgs, String> {
        let strings = args
            .iter()
            .map(|arg| c_string(arg.as_bytes(), "an argument"))
            .collect::<Result<Vec<_>, _>>()?;
        let argc = c_int::try_from(strings.len())
            .map_err(|_| format!("{} arguments are too many for librrd", strings.len()))?;
        let pointers = strings.iter().map(|s| s.as_ptr()).collect();
        Ok(CArgs {
            _strings: strings,
            pointers,
            argc,
        })
    }
}

impl Drop for InfoList {
    fn drop(&mut self) {
        // SAFETY: the list came from rrd_info_r and is freed only here, once.
        unsafe { rrd_sys::rrd_info_free(self.0.as_ptr()) }
    }
}

impl Drop for FetchBuffers {
    fn drop(&mut self) {
        // SAFETY: after a successful rrd_fetch_r, `names` is a malloc'ed
        // array of `count` malloc'ed strings and `data` a malloc'ed array;
        // rrd_freemem is librrd's free(). Each pointer is freed once, here.
        unsafe {
            if !self.names.is_null() {
                for i in 0..self.count {
                    rrd_sys::rrd_freemem((*self.names.add(i)).cast());
                }
                rrd_sys::rrd_freemem(self.names.cast());
            }
            rrd_sys::rrd_freemem(self.data.cast());
        }
    }
}

/// Runs one librrd call under rrdthreads(1)'s error rules: make sure this
/// thread's error context exists, clear it, call, and on failure (`run`
/// returns `None`) copy the message at once.
fn call_librrd<T>(
    call: &'static str,
    path: &Path,
    run: impl FnOnce() -> Option<T>,
) -> Result<T, Error> {
    // SAFETY: no arguments; returns this thread's context, allocating it on
    // first use, or null if that allocation failed.
    if unsafe { rrd_sys::rrd_get_context() }.is_null() {
        return Err(error(
            call,
            path,
            "librrd could not allocate its per-thread error context".to_string(),
        ));
    }
    // SAFETY: this thread's context exists (checked above).
    unsafe { rrd_sys::rrd_clear_error() };
    if let Some(result) = run() {
        return Ok(result);
    }
    // SAFETY: the context exists; rrd_get_error returns its NUL-terminated
    // message buffer, which no other thread writes and which is copied here
    // before this thread calls librrd again.
    let message = unsafe {
        let raw = rrd_sys::rrd_get_error();
        if raw.is_null() {
            String::new()
        } else {
            CStr::from_ptr(raw).to_string_lossy().into_owned()
        }
    };
    if message.is_empty() {
        return Err(error(
            call,
            path,
            "librrd failed without a message".to_string(),
        ));
    }
    Err(error(call, path, message))
}

fn error(call: &'static str, path: &Path, message: String) -> Error {
    Error {
        call,
        path: path.to_path_buf(),
        message,
    }
}

fn c_string(bytes: &[u8], what: &str) -> Result<CString, String> {
    CString::new(bytes).map_err(|_| format!("{what} contains a NUL byte"))
}

/// Refuses what librrd would not read as plain Unix seconds: `N` (now),
/// AT-style times (librrd takes any `@` in the line as one), and negative
/// times (seconds before now, to librrd).
fn check_update_time(line: &str) -> Result<(), String> {
    let time = line.split(':').next().unwrap_or_default();
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if line.contains('@') || !digits(seconds) || !digits(fraction) {
        return Err(format!(
            "update {line:?}: the time must be Unix seconds such as \
             1764115200.123456 (no N, AT-style or negative times)"
        ));
    }
    Ok(())
}

/// Builds [`Info`] from `rrd_info_r`'s keys: `step`, `last_update`,
/// `ds[<name>].<field>` and `rra[<index>].<field>`; other keys are ignored.
fn info_from_entries(entries: &[(String, InfoValue)]) -> Result<Info, String> {
    let mut step = None;
    let mut last_update = None;
    // (index in the file, data source), in the order librrd lists them.
    let mut data_sources: Vec<(u64, DataSource)> = Vec::new();
    let mut archives: Vec<Archive> = Vec::new();
    for (key, value) in entries {
        if key == "step" {
            step = match value {
                InfoValue::Count(step) => Some(*step),
                _ => None,
            };
        } else if key == "last_update" {
            last_update = match value {
                InfoValue::Count(last) => i64::try_from(*last).ok(),
                _ => None,
            };
        } else if let Some((name, field)) = key
            .strip_prefix("ds[")
            .and_then(|rest| rest.rsplit_once("]."))
        {
            let position = match data_sources.iter().position(|(_, ds)| ds.name == name) {
                Some(position) => position,
                None => {
                    data_sources.push((
                        u64::MAX,
                        DataSource {
                            name: name.to_string(),
                            kind: String::new(),
                            heartbeat: 0,
                            min: None,
                            max: None,
                        },
                    ));
                    data_sources.len() - 1
                }
            };
            let (index, ds) = &mut data_sources[position];
            match (field, value) {
                ("index", InfoValue::Count(i)) => *index = *i,
                ("type", InfoValue::Text(kind)) => ds.kind = kind.clone(),
                ("minimal_heartbeat", InfoValue::Count(beat)) => ds.heartbeat = *beat,
                ("min", InfoValue::Number(min)) => ds.min = Some(*min).filter(|v| !v.is_nan()),
                ("max", InfoValue::Number(max)) => ds.max = Some(*max).filter(|v| !v.is_nan()),
                _ => {}
            }
        } else if let Some((index, field)) = key
            .strip_prefix("rra[")
            .and_then(|rest| rest.split_once("]."))
        {
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            // librrd lists archives 0, 1, 2, … in order; a gap would leave
            // an empty archive, which the check below reports.
            if index >= archives.len() {
                archives.resize(
                    index + 1,
                    Archive {
                        cf: String::new(),
                        pdp_per_row: 0,
                        rows: 0,
                        xff: 0.0,
                    },
                );
            }
            let archive = &mut archives[index];
            match (field, value) {
                ("cf", InfoValue::Text(cf)) => archive.cf = cf.clone(),
                ("pdp_per_row", InfoValue::Count(n)) => archive.pdp_per_row = *n,
                ("rows", InfoValue::Count(n)) => archive.rows = *n,
                ("xff", InfoValue::Number(xff)) => archive.xff = *xff,
                _ => {}
            }
        }
    }
    let (Some(step), Some(last_update)) = (step, last_update) else {
        return Err("librrd's info lacks the step or the last update".to_string());
    };
    if let Some(archive) = archives.iter().position(|a| a.cf.is_empty()) {
        return Err(format!("librrd's info lacks archive {archive}"));
    }
    crate::order::sort_by_key(&mut data_sources, |(index, _)| *index);
    Ok(Info {
        step,
        last_update,
        data_sources: data_sources.into_iter().map(|(_, ds)| ds).collect(),
        archives,
    })
}

// `time_t` and `long` are 64 bits on x86_64 and aarch64 but 32 bits on
// Debian's armhf: these conversions are identities on the first two (hence
// the allow) and real on armv7.

#[allow(clippy::useless_conversion)]
fn to_time_t(seconds: i64) -> Option<time_t> {
    time_t::try_from(seconds).ok()
}

#[allow(clippy::useless_conversion)]
fn from_time_t(seconds: time_t) -> i64 {
    i64::from(seconds)
}

#[allow(clippy::useless_conversion)]
fn from_c_ulong(value: c_ulong) -> u64 {
    u64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_lines() {
        let check = |at: f64, rx: Option<f64>, tx: Option<f64>, expected: &str| {
            assert_eq!(update_line(at, rx, tx), expected, "{at} {rx:?} {tx:?}");
        };
        check(
            1764115200.123456,
            Some(0.0),
            Some(1.0),
            "1764115200.123456:0:1",
        );
        check(
            1764115200.0,
            Some(1500.5),
            None,
            "1764115200.000000:1500.5:U",
        );
        check(1764115200.9999994, None, Some(2.0), "1764115200.999999:U:2");
        check(1764115200.9999996, None, None, "1764115201.000000:U:U");
        check(
            1.5,
            Some(1e21),
            Some(1e-7),
            "1.500000:1000000000000000000000:0.0000001",
        );
        check(1.0, Some(f64::NAN), Some(f64::INFINITY), "1.000000:U:U");
        check(
            1.0,
            Some(f64::NEG_INFINITY),
            Some(-3.25),
            "1.000000:U:-3.25",
        );
        check(
            1.0,
            Some(0.1 + 0.2),
            Some(123456789012.0),
            "1.000000:0.30000000000000004:123456789012",
        );
    }

    #[test]
    fn error_kinds_are_read_from_librrds_words() {
        let missing = Path::new("/nonexistent-mt-trafmon/x.rrd");
        let real = update(missing, &["1764115200:1:2".to_string()]).unwrap_err();
        assert_eq!(real.kind(), ErrorKind::NotFound, "{real}");
        let kind = |message: &str| error("update", missing, message.to_string()).kind();
        assert_eq!(kind("could not lock RRD"), ErrorKind::Locked);
        assert_eq!(
            kind("/x.rrd: write: No space left on device"),
            ErrorKind::NoSpace
        );
        assert_eq!(
            kind("opening '/x.rrd': Permission denied"),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind("Cannot allocate memory"), ErrorKind::NoMemory);
        assert_eq!(kind("illegal attempt to update"), ErrorKind::Other);
    }

    #[test]
    fn update_times_must_be_plain_unix_seconds() {
        let check = |line: &str, ok: bool| {
            assert_eq!(check_update_time(line).is_ok(), ok, "{line}");
        };
        check("1764115200.123456:1:2", true);
        check("1764115200:U:U", true);
        check("0:1:2", true);
        check(&update_line(1764115200.5, None, Some(3.0)), true);
        check("N:1:2", false);
        check("-5:1:2", false);
        check("now-2:1:2", false);
        check("1764115200@1:2", false);
        check("1764115200:1@2:3", false);
        check("12:00:00:1:2", true); // librrd then counts the values
        check("1764115200.:1:2", false);
        check(".5:1:2", false);
        check("1e9:1:2", false);
        check(&update_line(f64::NAN, None, None), false);
        check(&update_line(-1.0, None, None), false);
        check("", false);
    }

    fn count(key: &str, n: u64) -> (String, InfoValue) {
        (key.to_string(), InfoValue::Count(n))
    }

    fn number(key: &str, v: f64) -> (String, InfoValue) {
        (key.to_string(), InfoValue::Number(v))
    }

    fn text(key: &str, s: &str) -> (String, InfoValue) {
        (key.to_string(), InfoValue::Text(s.to_string()))
    }

    #[test]
    fn info_entries_become_fields() {
        let entries = vec![
            text("filename", "x.rrd"),
            text("rrd_version", "0003"),
            count("step", 1),
            count("last_update", 1764115200),
            count("header_size", 1000),
            // Listed out of index order on purpose: the index decides.
            count("ds[tx].index", 1),
            text("ds[tx].type", "GAUGE"),
            count("ds[tx].minimal_heartbeat", 3),
            number("ds[tx].min", 0.0),
            number("ds[tx].max", f64::NAN),
            text("ds[tx].last_ds", "U"),
            count("ds[rx].index", 0),
            text("ds[rx].type", "COUNTER"),
            count("ds[rx].minimal_heartbeat", 600),
            number("ds[rx].min", f64::NAN),
            number("ds[rx].max", 1e9),
            text("rra[0].cf", "AVERAGE"),
            count("rra[0].rows", 31557600),
            count("rra[0].cur_row", 17),
            count("rra[0].pdp_per_row", 1),
            number("rra[0].xff", 0.5),
            number("rra[0].cdp_prep[0].value", f64::NAN),
            text("rra[1].cf", "MAX"),
            count("rra[1].rows", 24),
            count("rra[1].pdp_per_row", 300),
            number("rra[1].xff", 0.25),
            ("odd".to_string(), InfoValue::Other),
        ];
        let expected = Info {
            step: 1,
            last_update: 1764115200,
            data_sources: vec![
                DataSource {
                    name: "rx".into(),
                    kind: "COUNTER".into(),
                    heartbeat: 600,
                    min: None,
                    max: Some(1e9),
                },
                DataSource {
                    name: "tx".into(),
                    kind: "GAUGE".into(),
                    heartbeat: 3,
                    min: Some(0.0),
                    max: None,
                },
            ],
            archives: vec![
                Archive {
                    cf: "AVERAGE".into(),
                    pdp_per_row: 1,
                    rows: 31557600,
                    xff: 0.5,
                },
                Archive {
                    cf: "MAX".into(),
                    pdp_per_row: 300,
                    rows: 24,
                    xff: 0.25,
                },
            ],
        };
        assert_eq!(info_from_entries(&entries), Ok(expected));
    }

    #[test]
    fn incomplete_info_is_an_error() {
        let check = |entries: Vec<(String, InfoValue)>, expected: &str| {
            assert_eq!(info_from_entries(&entries), Err(expected.to_string()));
        };
        let lacks = "librrd's info lacks the step or the last update";
        check(vec![count("last_update", 5)], lacks);
        check(vec![count("step", 1)], lacks);
        check(vec![text("step", "1"), count("last_update", 5)], lacks);
        check(
            vec![
                count("step", 1),
                count("last_update", 5),
                text("rra[1].cf", "MAX"),
            ],
            "librrd's info lacks archive 0",
        );
    }

    #[test]
    fn fetched_rows() {
        let fetched = Fetched {
            start: 100,
            end: 115,
            step: 5,
            names: vec!["rx".into(), "tx".into()],
            values: vec![1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0],
        };
        assert_eq!(fetched.rows(), 3);
        assert_eq!(fetched.row(1), &[3.0, 4.0]);
        assert!(fetched.row(2)[0].is_nan());
        let times: Vec<i64> = (0..fetched.rows()).map(|i| fetched.row_time(i)).collect();
        assert_eq!(times, [105, 110, 115]);
        let empty = Fetched {
            names: Vec::new(),
            values: Vec::new(),
            ..fetched
        };
        assert_eq!(empty.rows(), 0);
    }

    #[test]
    fn error_display_names_call_and_path() {
        let e = error("update", Path::new("/var/lib/x.rrd"), "boom".to_string());
        assert_eq!(e.to_string(), "rrd update of /var/lib/x.rrd failed: boom");
        assert_eq!(e.message(), "boom");
    }
}
