//! How much memory this process may still take, for the check before a
//! file is created, in a way that also works inside systemd's sandbox.
//!
//! The unit's `ProtectProc=invisible` and `ProcSubset=pid` hide
//! `/proc/meminfo`, so three sources are read and the smallest answer wins:
//! `MemAvailable` from `/proc/meminfo` when it can be read; otherwise
//! `sysinfo(2)`'s free and buffer memory (a lower bound: it cannot see the
//! page cache the kernel would give back); and the cgroup v2 limits of this
//! process's cgroup and its ancestors (`memory.max` less what the group
//! uses, not counting its reclaimable file cache), found through
//! `/proc/self/cgroup`, which `ProcSubset=pid` leaves visible. A source that
//! cannot be read is skipped; every file read is bounded in size.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Where an estimate of available memory came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `MemAvailable` in `/proc/meminfo`.
    MemAvailable,
    /// `sysinfo(2)`: free plus buffer memory.
    Sysinfo,
    /// The `memory.max` of this cgroup (its path under `/sys/fs/cgroup`).
    Cgroup(PathBuf),
}

/// Memory this process may take before the kernel or its cgroup runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// The source that gave the smallest answer.
    pub source: Source,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::MemAvailable => f.write_str("MemAvailable in /proc/meminfo"),
            Source::Sysinfo => f.write_str("free and buffer memory from sysinfo(2)"),
            Source::Cgroup(dir) => write!(f, "the limit in {}/memory.max", dir.display()),
        }
    }
}

/// Longest file read here: /proc/meminfo and memory.stat are about 1.5 and
/// 2 KiB.
const READ_LIMIT: u64 = 64 * 1024;
/// Deepest cgroup path followed.
const MAX_CGROUP_DEPTH: usize = 32;
/// Where cgroup v2 is mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The smallest of the estimates that can be read now.
pub fn available() -> Available {
    let system = system(read_small(Path::new("/proc/meminfo")).as_deref());
    let cgroup = read_small(Path::new("/proc/self/cgroup"))
        .and_then(|text| own_cgroup(&text).map(str::to_string))
        .and_then(|own| cgroup_headroom(Path::new(CGROUP_ROOT), &own));
    match cgroup {
        Some(cgroup) if cgroup.bytes < system.bytes => cgroup,
        _ => system,
    }
}

/// The machine's estimate: `MemAvailable` from `meminfo` (the text of
/// `/proc/meminfo`, if it could be read), else sysinfo(2)'s.
fn system(meminfo: Option<&str>) -> Available {
    if let Some(bytes) = meminfo.and_then(parse_mem_available) {
        return Available {
            bytes,
            source: Source::MemAvailable,
        };
    }
    let info = rustix::system::sysinfo();
    let unit = u64::from(info.mem_unit.max(1));
    let free = widen(info.freeram).saturating_add(widen(info.bufferram));
    Available {
        bytes: free.saturating_mul(unit),
        source: Source::Sysinfo,
    }
}

/// sysinfo's counts are C `long`s: 64 bits on x86_64 and aarch64 (an
/// identity, hence the allow), 32 on armhf.
#[allow(clippy::useless_conversion)]
fn widen(count: std::ffi::c_ulong) -> u64 {
    u64::from(count)
}

/// The least headroom of `own` (a path like `/system.slice/x.service`)
/// and its ancestors below `root`, among those with a numeric limit.
fn cgroup_headroom(root: &Path, own: &str) -> Option<Available> {
    let mut best: Option<Available> = None;
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = own.split('/').filter(|p| !p.is_empty()).collect();
    for part in parts.iter().take(MAX_CGROUP_DEPTH) {
        if *part == "." || *part == ".." {
            return None;
        }
        dir.push(part);
        let Some(limit) = read_small(&dir.join("memory.max")).and_then(|t| parse_limit(&t)) else {
            continue;
        };
        let used = read_small(&dir.join("memory.current"))
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let reclaimable = read_small(&dir.join("memory.stat"))
            .map(|t| reclaimable_file_bytes(&t))
            .unwrap_or(0);
        let bytes = limit.saturating_sub(used.saturating_sub(reclaimable));
        if best.as_ref().is_none_or(|b| bytes < b.bytes) {
            best = Some(Available {
                bytes,
                source: Source::Cgroup(dir.clone()),
            });
        }
    }
    best
}

/// A small file's text, or `None` if it cannot be read (hidden, missing,
/// not UTF-8).
fn read_small(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(READ_LIMIT)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `MemAvailable` from the text of `/proc/meminfo`, in bytes.
fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// This process's cgroup v2 path from `/proc/self/cgroup` (the `0::` line).
fn own_cgroup(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|p| p.starts_with('/'))
}

/// A `memory.max` value: bytes, or `None` for `max` (no limit) and junk.
fn parse_limit(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The page cache a cgroup could give back: `active_file` plus
/// `inactive_file` of its `memory.stat`.
fn reclaimable_file_bytes(stat: &str) -> u64 {
    stat.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(key, _)| *key == "active_file" || *key == "inactive_file")
        .filter_map(|(_, value)| value.trim().parse::<u64>().ok())
        .fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        let meminfo = "MemTotal:        1000000 kB\nMemFree:          20000 kB\nMemAvailable:     512000 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(512_000 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
        assert_eq!(
            system(Some(meminfo)),
            Available {
                bytes: 512_000 * 1024,
                source: Source::MemAvailable
            }
        );
        // /proc/meminfo hidden (the unit's ProcSubset=pid): sysinfo(2),
        // whose free memory is less than the machine's MemAvailable.
        let hidden = system(None);
        assert_eq!(hidden.source, Source::Sysinfo);
        assert!(hidden.bytes > 0);
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            let total = text
                .lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .unwrap();
            assert!(hidden.bytes <= total * 1024, "{hidden:?}");
        }
    }

    #[test]
    fn cgroup_files() {
        assert_eq!(
            own_cgroup("0::/system.slice/mt-trafmon.service\n"),
            Some("/system.slice/mt-trafmon.service")
        );
        // cgroup v1 lines are not followed.
        assert_eq!(
            own_cgroup("12:memory:/user.slice\n1:name=systemd:/\n"),
            None
        );
        assert_eq!(own_cgroup("0::\n"), None);
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(512 << 20));
        assert_eq!(
            reclaimable_file_bytes("anon 100\nfile 900\nactive_file 300\ninactive_file 500\n"),
            800
        );
        assert_eq!(reclaimable_file_bytes("active_file x\n"), 0);
    }

    /// A fake cgroup tree: the service's limit is tighter than its slice's,
    /// and the page cache it has charged counts as available.
    #[test]
    fn the_tightest_ancestor_wins() {
        let root = std::env::temp_dir().join(format!("mt-trafmon-cgroup-{}", std::process::id()));
        let slice = root.join("system.slice");
        let service = slice.join("x.service");
        std::fs::create_dir_all(&service).unwrap();
        let write =
            |dir: &Path, name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        write(&slice, "memory.max", "1073741824\n");
        write(&slice, "memory.current", "104857600\n");
        write(&service, "memory.max", "67108864\n");
        write(&service, "memory.current", "62914560\n");
        write(
            &service,
            "memory.stat",
            "anon 4194304\nactive_file 20971520\ninactive_file 10485760\n",
        );
        let found = cgroup_headroom(&root, "/system.slice/x.service");
        assert_eq!(
            found,
            Some(Available {
                bytes: (64 << 20) - (60 << 20) + (30 << 20),
                source: Source::Cgroup(service.clone()),
            })
        );
        write(&service, "memory.max", "max\n");
        assert_eq!(
            cgroup_headroom(&root, "/system.slice/x.service").map(|a| a.bytes),
            Some((1 << 30) - (100 << 20))
        );
        assert_eq!(cgroup_headroom(&root, "/system.slice/../x"), None);
        assert_eq!(cgroup_headroom(&root, "/nowhere"), None);
        std::fs::remove_dir_all(&root).unwrap();
        // This machine: some estimate, more than nothing.
        assert!(available().bytes > 0);
    }
}
