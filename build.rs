//! Build script: makes the page's shipped files from its readable sources
//! in `web/` once, at build time. HTML, CSS and JavaScript go through the
//! small minifier in `build/minify.rs` (comments, indentation and blank
//! lines out; literals untouched); the JavaScript files of a page are
//! concatenated into one script inside one function scope. Each result is
//! gzipped with Zopfli (plain DEFLATE that any gzip reader inflates,
//! searched far harder than zlib's level 9: 2.5 % fewer bytes; more than
//! its default 15 iterations saved only 21 B more of the 37,898),
//! and `assets.rs` is written into `OUT_DIR`: for each file its
//! length, its gzip bytes (the binary carries no plain copy) and an ETag
//! from a hash of its content, which `src/web/assets.rs` includes. Nothing
//! else.

use std::fmt::Write as _;
use std::path::Path;

#[path = "build/minify.rs"]
mod minify;

/// How a shipped file is made from its sources.
#[derive(Clone, Copy)]
enum Kind {
    /// HTML, and SVG written the same way.
    Html,
    Css,
    /// Scripts, concatenated in order into one function scope.
    Js,
}

/// A shipped file: its name (served at `/<name>`), content type, and sources in `web/`.
struct Shipped {
    name: &'static str,
    content_type: &'static str,
    kind: Kind,
    sources: &'static [&'static str],
}

/// The scripts both pages share, in order (web/README.md says what each holds).
macro_rules! shared_scripts {
    ($($page:literal),*) => {
        &["common.js", "view.js", "series.js", "draw.js", "live.js", $($page),*]
    };
}

/// The files served.
const SHIPPED: [Shipped; 11] = [
    Shipped {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        kind: Kind::Html,
        sources: &["index.html"],
    },
    Shipped {
        name: "overview.html",
        content_type: "text/html; charset=utf-8",
        kind: Kind::Html,
        sources: &["overview.html"],
    },
    Shipped {
        name: "totals.html",
        content_type: "text/html; charset=utf-8",
        kind: Kind::Html,
        sources: &["totals.html"],
    },
    Shipped {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        kind: Kind::Css,
        sources: &["app.css"],
    },
    Shipped {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        kind: Kind::Js,
        sources: shared_scripts!("page.js"),
    },
    Shipped {
        name: "overview.js",
        content_type: "text/javascript; charset=utf-8",
        kind: Kind::Js,
        sources: shared_scripts!("overview.js"),
    },
    Shipped {
        name: "setup.html",
        content_type: "text/html; charset=utf-8",
        kind: Kind::Html,
        sources: &["setup.html"],
    },
    Shipped {
        name: "setup.css",
        content_type: "text/css; charset=utf-8",
        kind: Kind::Css,
        sources: &["setup.css"],
    },
    // The settings page needs only the helpers of common.js, not the graph's scripts.
    Shipped {
        name: "setup.js",
        content_type: "text/javascript; charset=utf-8",
        kind: Kind::Js,
        sources: &["common.js", "setup.js"],
    },
    Shipped {
        name: "totals.js",
        content_type: "text/javascript; charset=utf-8",
        kind: Kind::Js,
        // Only the shared helpers: the totals page draws no graph.
        sources: &["common.js", "totals.js"],
    },
    Shipped {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        kind: Kind::Html,
        sources: &["favicon.svg"],
    },
];

/// The shipped bytes of one file.
fn make(file: &Shipped) -> Vec<u8> {
    let mut out = String::new();
    if let Kind::Js = file.kind {
        out.push_str("(()=>{'use strict';\n");
    }
    for source in file.sources {
        let path = Path::new("web").join(source);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let made = match file.kind {
            Kind::Html => minify::html(&text),
            Kind::Css => minify::css(&text),
            Kind::Js => minify::js(&text),
        };
        out.push_str(&made.unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    if let Kind::Js = file.kind {
        out.push_str("})();\n");
    }
    out.into_bytes()
}

fn main() {
    println!("cargo:rerun-if-changed=build/minify.rs");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);
    let mut code = String::from("&[\n");
    for file in &SHIPPED {
        let name = file.name;
        let content_type = file.content_type;
        let bytes = make(file);
        let mut gzip = Vec::new();
        zopfli::compress(
            zopfli::Options::default(),
            zopfli::Format::Gzip,
            &bytes[..],
            &mut gzip,
        )
        .expect("gzip in memory");
        std::fs::write(out.join(format!("{name}.gz")), &gzip).expect("write to OUT_DIR");
        // FNV-1a, 64 bits: stable across builds and compilers.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        let size = bytes.len();
        writeln!(
            code,
            "    Asset {{ name: {name:?}, content_type: {content_type:?}, etag: \"\\\"{hash:016x}\\\"\", \
             size: {size}, \
             gzip: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.gz\")) }},"
        )
        .expect("write to a String");
    }
    code.push_str("]\n");
    std::fs::write(out.join("assets.rs"), code).expect("write to OUT_DIR");
}
