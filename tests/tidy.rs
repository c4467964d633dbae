//! House rules checked as tests: every Rust file opens with a `//!` header,
//! every dependency is justified by a comment, no async runtime in the
//! device binary, and `unsafe` stays out of the code (until the librrd
//! module, which alone may allow it).

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
