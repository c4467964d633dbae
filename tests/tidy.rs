//! House rules checked as tests: every Rust file opens with a `//!` header,
//! every dependency is justified by a comment, no async runtime in the
//! device binary, `unsafe` stays out of the code (until the librrd
//! module, which alone may allow it), and no file points at a document
//! that is not in the repository.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_header() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    assert!(files.len() > 5);
    let missing: Vec<_> = files
        .iter()
        .filter(|path| !fs::read_to_string(path).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:?}"
    );
}

#[test]
fn every_dependency_has_a_comment() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    let mut previous = "";
    let mut bare = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line.ends_with("dependencies]");
        } else if in_dependencies
            && line.contains('=')
            && !line.starts_with('#')
            && !previous.starts_with('#')
        {
            bare.push(line.to_string());
        }
        previous = line;
    }
    assert!(
        bare.is_empty(),
        "dependencies without a comment line above: {bare:?}"
    );
}

#[test]
fn no_async_runtime() {
    let lock = fs::read_to_string(root().join("Cargo.lock")).unwrap();
    assert!(
        !lock.contains("name = \"tokio\""),
        "tokio stays out of the device binary (blocking threads by design)"
    );
}

#[test]
fn no_unsafe_code_outside_the_librrd_module() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|path| !path.ends_with("rrd.rs"))
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap();
            text.contains("unsafe {") || text.contains("allow(unsafe_code)")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe outside src/rrd.rs: {offenders:?}"
    );
}

/// The Rust files under `src/` whose path (relative to `src/`) starts with
/// one of `prefixes`, with their text.
fn sources(prefixes: &[&str]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(root().join("src")).unwrap();
            (relative.to_string_lossy().into_owned(), path)
        })
        .filter(|(relative, _)| prefixes.iter().any(|p| relative.starts_with(p)))
        .map(|(relative, path)| (relative, fs::read_to_string(path).unwrap()))
        .collect()
}

#[test]
fn the_runtime_has_one_lock_home_and_never_polls() {
    // The lock between RRD writes and reads has one name and one home.
    let elsewhere: Vec<_> = sources(&[""])
        .into_iter()
        .filter(|(path, text)| path != "files.rs" && text.contains("RwLock<()>"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        elsewhere.is_empty(),
        "a file lock outside src/files.rs (use files::Files): {elsewhere:?}"
    );
    // The daemon's own threads (main, the web server's) wait in one
    // blocking call each (a poll, a queue, Stop::sleep), never in a sleep
    // loop that wakes to look at a flag.
    let polling: Vec<_> = sources(&["main.rs", "daemon", "web/", "demo.rs"])
        .into_iter()
        .filter(|(_, text)| {
            text.contains("thread::sleep") || text.contains("recv_timeout(Duration")
        })
        .map(|(path, _)| path)
        .collect();
    assert!(polling.is_empty(), "sleep loops in {polling:?}");
    // The library never ends the process behind main's back; the one
    // exception is the wizard ending it by the signal it got, after
    // restoring the terminal.
    let exits: Vec<_> = sources(&[""])
        .into_iter()
        .filter(|(path, text)| {
            !matches!(path.as_str(), "main.rs" | "wizard.rs") && text.contains("process::exit")
        })
        .map(|(path, _)| path)
        .collect();
    assert!(exits.is_empty(), "process::exit in {exits:?}");
}

/// Every file of the repository's tree, without build output (`target/`),
/// git's data and installed Node packages.
fn repository_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let skipped = ["target", ".git", "node_modules"]
            .iter()
            .any(|name| path.file_name().is_some_and(|n| n == *name));
        if path.is_dir() && !skipped {
            repository_files(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

/// Whether `reference` names a file inside the repository, taken from `base`.
fn resolves(base: &Path, reference: &str) -> bool {
    let root = root().canonicalize().unwrap();
    base.join(reference)
        .canonicalize()
        .is_ok_and(|path| path.starts_with(&root) && path.is_file())
}

/// The repository stands alone: a reference to a Markdown document, or a
/// relative path that starts with `../`, must name a file of the
/// repository (from the repository's root or from the referring file's
/// directory; a bare document name may be any file of that name), and
/// nothing may point into the workspace's shared directory. Text the code
/// relies on lives in `docs/`.
#[test]
fn every_referenced_document_is_in_the_repository() {
    let mut files = Vec::new();
    repository_files(root(), &mut files);
    assert!(files.len() > 50);
    let names: HashSet<OsString> = files
        .iter()
        .filter_map(|path| path.file_name().map(|name| name.to_os_string()))
        .collect();
    let mut dangling = Vec::new();
    for path in &files {
        // This file spells out what it looks for.
        if path.ends_with("tests/tidy.rs") {
            continue;
        }
        // Binary files (images, archives) have no references.
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        let shown = path.strip_prefix(root()).unwrap().display();
        let dir = path.parent().unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.contains("../shared") || line.contains("shared/reference") {
                dangling.push(format!("{shown}:{}: {}", number + 1, line.trim()));
                continue;
            }
            let tokens = line.split(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c)));
            for token in tokens {
                let token = token.trim_end_matches('.');
                // The package installs the repository's documents here.
                let token = token
                    .strip_prefix("/usr/share/doc/mt-trafmon/")
                    .unwrap_or(token);
                let document = token.ends_with(".md") && token.len() > ".md".len();
                let relative = token.starts_with("../") && token.len() > "../".len();
                if !document && !relative {
                    continue;
                }
                let bare_name =
                    document && !token.contains('/') && names.contains(&OsString::from(token));
                if !(bare_name || resolves(root(), token) || resolves(dir, token)) {
                    dangling.push(format!("{shown}:{}: {token}", number + 1));
                }
            }
        }
    }
    assert!(
        dangling.is_empty(),
        "references to files that are not in the repository (put what they stand for into docs/, in the repository's own words):\n{}",
        dangling.join("\n")
    );
}
