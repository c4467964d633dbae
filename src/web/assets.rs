//! The page's files from `web/`, compiled into the binary by `build.rs`
//! as they are and gzipped, each with an ETag from a hash of its content.
//! Nothing is read from the file system at run time, and no URL maps to a
//! path.

/// One compiled-in file.
#[derive(Debug)]
pub struct Asset {
    /// Its name in `web/`; served at `/<name>` (`index.html` also at `/`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// A quoted ETag, the same for both encodings.
    pub etag: &'static str,
    /// The bytes as written.
    pub body: &'static [u8],
    /// The bytes gzipped (best compression), for clients that accept it.
    pub gzip: &'static [u8],
}

/// Every file, in `build.rs`'s order.
pub const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file served at `path` (`/` is `index.html`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let name = match path {
        "/" => "index.html",
        _ => path.strip_prefix('/')?,
    };
    ASSETS.iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_there_and_gzip_round_trips() {
        for name in ["index.html", "app.css", "app.js", "favicon.svg"] {
            let asset = find(&format!("/{name}")).unwrap();
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2_free_gunzip(asset.gzip).as_slice(), &mut plain)
                .unwrap();
            assert_eq!(plain, asset.body, "{name}");
            assert!(asset.etag.starts_with('"') && asset.etag.len() == 18);
        }
        assert_eq!(find("/").unwrap().name, "index.html");
        assert!(find("/../Cargo.toml").is_none());
        assert!(find("/web/app.js").is_none());
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
