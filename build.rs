//! Build script: gzips the web page's files in `web/` once, at build time,
//! and writes `assets.rs` into `OUT_DIR`: for each file its bytes, its
//! gzip bytes and an ETag from a hash of its content, which
//! `src/web/assets.rs` includes. Nothing else.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// The files served, with their content types.
const FILES: [(&str, &str); 4] = [
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);
    let mut code = String::from("&[\n");
    for (name, content_type) in FILES {
        let source = Path::new("web").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let bytes = std::fs::read(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).expect("gzip in memory");
        let gzip = encoder.finish().expect("gzip in memory");
        std::fs::write(out.join(name), &bytes).expect("write to OUT_DIR");
        std::fs::write(out.join(format!("{name}.gz")), &gzip).expect("write to OUT_DIR");
        // FNV-1a, 64 bits: stable across builds and compilers.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        writeln!(
            code,
            "    Asset {{ name: {name:?}, content_type: {content_type:?}, etag: \"\\\"{hash:016x}\\\"\", \
             body: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\")), \
             gzip: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.gz\")) }},"
        )
        .expect("write to a String");
    }
    code.push_str("]\n");
    std::fs::write(out.join("assets.rs"), code).expect("write to OUT_DIR");
}
