//! The pages' files, made by `build.rs` from the readable sources in
//! `web/` (minified, the scripts of a page in one file) and compiled into
//! the binary in their gzip form only (a client that does not accept gzip
//! gets them through `inflate`), each with an ETag from a hash of its
//! content. Nothing is read from the file system at run time, and no URL
//! maps to a path. The tests here hold the shipped bytes to their budget.

/// One compiled-in file.
#[derive(Debug)]
pub struct Asset {
    /// Its name in `web/`; served at `/<name>` (`index.html` also at `/`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// A quoted ETag, the same for both encodings.
    pub etag: &'static str,
    /// The length of the file as written.
    pub size: usize,
    /// The bytes gzipped (best compression).
    pub gzip: &'static [u8],
}

impl Asset {
    /// The bytes as written (`None` only if the compiled-in gzip were
    /// broken, which the tests rule out).
    pub fn body(&self) -> Option<Vec<u8>> {
        super::inflate::gunzip(self.gzip)
    }
}

/// Every file, in `build.rs`'s order.
pub const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file served at `path` (`/` is `index.html`, the graph page;
/// `/overview` is `overview.html`, every interface at a glance; `/setup`
/// is `setup.html`, the settings page; `/totals` is `totals.html`, the
/// calendar and billing totals).
pub fn find(path: &str) -> Option<&'static Asset> {
    let name = match path {
        "/" => "index.html",
        "/overview" => "overview.html",
        "/setup" => "setup.html",
        "/totals" => "totals.html",
        _ => path.strip_prefix('/')?,
    };
    ASSETS.iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The most gzipped bytes a page's HTML, CSS and JavaScript may ship.
    const PAGE_BUDGET: usize = 16 * 1024;
    /// The longest line in the sources in `web/`.
    const MAX_LINE: usize = 120;

    #[test]
    fn every_file_is_there_and_gzip_round_trips() {
        let names = [
            "index.html",
            "overview.html",
            "totals.html",
            "app.css",
            "app.js",
            "overview.js",
            "setup.html",
            "setup.css",
            "setup.js",
            "totals.js",
            "favicon.svg",
        ];
        assert_eq!(ASSETS.len(), names.len());
        for name in names {
            let asset = find(&format!("/{name}")).unwrap();
            let plain = flate2_free_gunzip(asset.gzip);
            assert_eq!(plain.len(), asset.size, "{name}");
            assert_eq!(asset.body(), Some(plain), "{name}");
            assert!(asset.etag.starts_with('"') && asset.etag.len() == 18);
        }
        assert_eq!(find("/").unwrap().name, "index.html");
        assert_eq!(find("/overview").unwrap().name, "overview.html");
        assert_eq!(find("/setup").unwrap().name, "setup.html");
        assert_eq!(find("/totals").unwrap().name, "totals.html");
        assert!(find("/../Cargo.toml").is_none());
        assert!(find("/web/app.js").is_none());
        assert!(find("/page.js").is_none(), "sources are not served");
    }

    #[test]
    fn each_page_ships_within_its_budget() {
        let gzipped = |name: &str| find(&format!("/{name}")).unwrap().gzip.len();
        for page in [
            &["index.html", "app.css", "app.js"][..],
            &["overview.html", "app.css", "overview.js"],
            &["setup.html", "app.css", "setup.css", "setup.js"],
            &["totals.html", "app.css", "totals.js"],
        ] {
            let sizes: Vec<(&str, usize)> = page.iter().map(|n| (*n, gzipped(n))).collect();
            let total: usize = sizes.iter().map(|(_, size)| size).sum();
            println!("{sizes:?}: {total} B gzipped");
            assert!(total <= PAGE_BUDGET, "{sizes:?}: {total} B gzipped");
        }
    }

    #[test]
    fn shipped_files_are_minified_and_sources_are_not() {
        let body = |name: &str| {
            String::from_utf8(find(&format!("/{name}")).unwrap().body().unwrap()).unwrap()
        };
        let source = |name: &str| {
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("web").join(name))
                .unwrap()
        };
        for name in [
            "app.js",
            "overview.js",
            "setup.js",
            "totals.js",
            "app.css",
            "setup.css",
            "index.html",
            "overview.html",
            "setup.html",
            "totals.html",
        ] {
            let shipped = body(name);
            assert!(
                !shipped.contains("\n\n") && !shipped.contains("\n "),
                "{name}: blank or indented lines"
            );
            assert!(
                !shipped.contains("<!--") && !shipped.contains("/*"),
                "{name}: comments"
            );
        }
        assert!(body("app.js").starts_with("(()=>{'use strict';"));
        assert!(body("setup.js").starts_with("(()=>{'use strict';"));
        assert!(
            body("setup.js").contains("function getJson(")
                && !body("setup.js").contains("function drawGraph("),
            "the settings page ships common.js, not the graph's scripts"
        );
        assert!(
            body("app.js").contains("function drawGraph("),
            "names are kept"
        );
        let sources = source("common.js").len() + source("page.js").len() + source("draw.js").len();
        assert!(
            body("app.js").len() < sources,
            "smaller than three of its sources"
        );
    }

    /// The sources in `web/` (not its README, whose sentences are lines).
    #[test]
    fn web_sources_have_short_lines() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut long = Vec::new();
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in text.lines().enumerate() {
                if line.chars().count() > MAX_LINE {
                    long.push(format!("{}:{}", path.display(), number + 1));
                }
            }
        }
        assert!(files >= 10, "{files} sources");
        assert!(
            long.is_empty(),
            "lines over {MAX_LINE} characters: {long:?}"
        );
    }

    /// gunzip with the system's `gzip -d`, so that the check does not
    /// trust the library that compressed.
    fn flate2_free_gunzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip is installed");
        child.stdin.take().unwrap().write_all(data).unwrap();
        child.wait_with_output().unwrap().stdout
    }
}
