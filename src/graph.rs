//! The graph view as the original's URLs describe it, and the `rrdtool
//! graph` command that draws the same view from an RRD file (the page's
//! "Copy rrdtool command"). Pure: no clock, no file, no rrdtool run.
//!
//! The URL parameters and their rules are the original's
//! (`docs/original.md`, section 2): presets `5m` … `5y` plus `10y`,
//! `start`/`end` for a custom window, `width` 300..4000 (default 1200),
//! `height` 150..2000 (default 420), `style`, `log`, `smooth`, `volume`,
//! `refresh`; a value that does not parse takes the default instead of
//! failing (the original dropped the connection on `width=abc`). The
//! command is the original's argument list (section 3 there) with three
//! fixes: the dark colours are included when the page is dark, windows of
//! a day or more are given in seconds (rrdtool's `now-1y` is a calendar
//! year, and `now-1d` spans 23 or 25 hours across a DST change), and a `:`
//! in the file's path is escaped in `DEF:` (it broke the original's).

/// The presets: name, seconds, and the rrdtool offset that spans exactly
/// as many seconds.
pub const PRESETS: [(&str, i64, &str); 10] = [
    ("5m", 300, "5min"),
    ("15m", 900, "15min"),
    ("1h", 3600, "1h"),
    ("6h", 21_600, "6h"),
    ("24h", 86_400, "86400s"),
    ("7d", 604_800, "604800s"),
    ("30d", 2_592_000, "2592000s"),
    ("1y", 31_557_600, "31557600s"),
    ("5y", 157_788_000, "157788000s"),
    ("10y", 315_576_000, "315576000s"),
];

/// The graph's window: a preset ending now, or fixed epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The index of a [`PRESETS`] entry.
    Preset(usize),
    /// `(start, end]` in Unix seconds, `start < end`.
    Custom(i64, i64),
}

/// How the graph is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Filled areas with an outline (the default).
    Area,
    /// Lines only.
    Line,
    /// RX above zero, TX below.
    Mirror,
}

/// A whole view, as the original's URL parameters give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The time window.
    pub window: Window,
    /// Plot width in pixels, 300..4000.
    pub width: u32,
    /// Plot height in pixels, 150..2000.
    pub height: u32,
    /// Drawing style.
    pub style: Style,
    /// Logarithmic Y axis.
    pub log: bool,
    /// 60 s moving average.
    pub smooth: bool,
    /// Volume in the legend.
    pub volume: bool,
    /// The dark colours.
    pub dark: bool,
}

impl View {
    /// Reads a view from query parameters (name, value), the last value of
    /// a repeated name winning as in the original. Unknown names are
    /// ignored and unusable values take their defaults.
    pub fn from_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> View {
        let mut range = None;
        let (mut start, mut end) = (None, None);
        let mut view = View {
            window: Window::Preset(2),
            width: 1200,
            height: 420,
            style: Style::Area,
            log: false,
            smooth: false,
            volume: true,
            dark: true,
        };
        for (name, value) in params {
            match name {
                "range" => range = PRESETS.iter().position(|p| p.0 == value),
                "start" => start = value.parse::<i64>().ok(),
                "end" => end = value.parse::<i64>().ok(),
                "width" => view.width = value.parse().map_or(1200, |w: u32| w.clamp(300, 4000)),
                "height" => view.height = value.parse().map_or(420, |h: u32| h.clamp(150, 2000)),
                "style" => {
                    view.style = match value {
                        "line" => Style::Line,
                        "mirror" => Style::Mirror,
                        _ => Style::Area,
                    }
                }
                "log" => view.log = value == "1",
                "smooth" => view.smooth = value == "1",
                "volume" => view.volume = value == "1",
                "theme" => view.dark = value != "classic",
                _ => {}
            }
        }
        view.window = match (start, end) {
            (Some(start), Some(end)) if start < end => Window::Custom(start, end),
            _ => Window::Preset(range.unwrap_or(2)),
        };
        view
    }

    /// The window's length in seconds.
    pub fn span(&self) -> i64 {
        match self.window {
            Window::Preset(i) => PRESETS[i].1,
            Window::Custom(start, end) => end - start,
        }
    }
}

/// The resolution rrdtool reads a window of `span` seconds from: the
/// finest AVERAGE archive, of `(resolution, rows)`, that reaches back that
/// far (the coarsest when none does). With the original's archives this is
/// its rule (1 s up to a year, 10 s up to five, then 300 s); with no
/// archive known (file unreadable) the original's rule is used as such.
pub fn archive_step(span: i64, archives: &[(u64, u64)]) -> u64 {
    let span = span.max(1) as u64;
    if archives.is_empty() {
        return match span {
            0..=31_557_600 => 1,
            31_557_601..=157_788_000 => 10,
            _ => 300,
        };
    }
    let mut sorted = archives.to_vec();
    crate::order::sort_by_key(&mut sorted, |&a| a);
    sorted
        .iter()
        .find(|(resolution, rows)| resolution.saturating_mul(*rows) >= span)
        .or(sorted.last())
        .map_or(1, |(resolution, _)| *resolution)
}

/// The original's step rule: the archive's resolution, or more when the
/// window has more seconds than the plot has pixels.
pub fn effective_step(view: &View, archives: &[(u64, u64)]) -> u64 {
    let span = view.span().max(1) as u64;
    let pixel_step = span.div_ceil(u64::from(view.width));
    archive_step(view.span(), archives).max(pixel_step)
}

/// The `rrdtool graph` command for `view` of the file at `rrd`, titled
/// `title`, each argument quoted for a POSIX shell.
pub fn rrdtool_command(view: &View, rrd: &str, title: &str, step: u64) -> String {
    let mut args: Vec<String> = vec!["rrdtool".into(), "graph".into(), "output.png".into()];
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    match view.window {
        Window::Preset(i) => push(&["--start", &format!("now-{}", PRESETS[i].2), "--end", "now"]),
        Window::Custom(start, end) => {
            push(&["--start", &start.to_string(), "--end", &end.to_string()])
        }
    }
    push(&["--step", &step.to_string()]);
    push(&["--width", &view.width.to_string()]);
    push(&["--height", &view.height.to_string()]);
    push(&["--title", title, "--vertical-label", "bit/s"]);
    push(&["--slope-mode", "--alt-autoscale-max", "--imgformat", "PNG"]);
    push(&[
        "--font",
        "TITLE:12:",
        "--font",
        "AXIS:9:",
        "--font",
        "LEGEND:9:",
    ]);
    push(&["--font", "UNIT:9:", "--units-length", "6"]);
    if view.dark {
        for color in [
            "BACK#1a1d26",
            "CANVAS#1a1d26",
            "GRID#404858",
            "MGRID#606878",
            "FONT#e0e4ee",
            "AXIS#808898",
            "FRAME#1a1d26",
            "ARROW#808898",
        ] {
            push(&["--color", color]);
        }
    }
    // The original's rule: no mirror on a log scale.
    let style = match (view.style, view.log) {
        (Style::Mirror, true) => Style::Area,
        (style, _) => style,
    };
    if view.log {
        push(&["--logarithmic", "--lower-limit", "1"]);
    } else if style != Style::Mirror {
        push(&["--lower-limit", "0"]);
    }
    let file = rrd.replace('\\', "\\\\").replace(':', "\\:");
    push(&[
        &format!("DEF:rx_raw={file}:rx:AVERAGE"),
        &format!("DEF:tx_raw={file}:tx:AVERAGE"),
    ]);
    if view.smooth {
        push(&["CDEF:rx=rx_raw,60,TREND", "CDEF:tx=tx_raw,60,TREND"]);
    } else {
        push(&["CDEF:rx=rx_raw", "CDEF:tx=tx_raw"]);
    }
    if view.log {
        push(&["CDEF:rxplot=rx,1,MAX", "CDEF:txsafe=tx,1,MAX"]);
    } else {
        push(&["CDEF:rxplot=rx", "CDEF:txsafe=tx"]);
    }
    if style == Style::Mirror {
        push(&["CDEF:txplot=txsafe,-1,*"]);
    } else {
        push(&["CDEF:txplot=txsafe"]);
    }
    push(&[
        "VDEF:rxavg=rx_raw,AVERAGE",
        "VDEF:rxmax=rx_raw,MAXIMUM",
        "VDEF:txavg=tx_raw,AVERAGE",
        "VDEF:txmax=tx_raw,MAXIMUM",
    ]);
    if view.volume {
        push(&[
            "CDEF:rx_bytes=rx_raw,8,/",
            "CDEF:tx_bytes=tx_raw,8,/",
            "VDEF:rxtotal=rx_bytes,TOTAL",
            "VDEF:txtotal=tx_bytes,TOTAL",
        ]);
    }
    for (dir, line, area, outline) in [
        ("rx", "#00cc66", "#99e6bb", "#00aa55"),
        ("tx", "#3399ff", "#b3d9ff", "#2277cc"),
    ] {
        let label = dir.to_uppercase();
        match style {
            Style::Line => push(&[&format!("LINE2:{dir}plot{line}:{label} ")]),
            Style::Area => push(&[
                &format!("AREA:{dir}plot{area}B0:{label} "),
                &format!("LINE1:{dir}plot{outline}"),
            ]),
            Style::Mirror => push(&[
                &format!("AREA:{dir}plot{area}:{label} "),
                &format!("LINE1:{dir}plot{outline}"),
            ]),
        }
        push(&[
            &format!("GPRINT:{dir}avg: avg\\:%6.2lf %Sbit/s"),
            &format!("GPRINT:{dir}max:  max\\:%6.2lf %Sbit/s"),
        ]);
        if view.volume {
            push(&[&format!("GPRINT:{dir}total:  vol\\:%6.2lf %SB\\n")]);
        } else {
            push(&["COMMENT:\\n"]);
        }
    }
    if style == Style::Mirror {
        push(&["HRULE:0#666666"]);
    }
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` quoted for a POSIX shell as Python's `shlex.quote` does it (the
/// original's quoting): bare when it is non-empty and made only of ASCII
/// letters, digits and `@%+=:,./-_`, else in single quotes with each `'`
/// written `'"'"'`.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(query: &str) -> View {
        View::from_query(query.split('&').filter_map(|p| p.split_once('=')))
    }

    const ORIGINAL: [(u64, u64); 3] = [(1, 31_557_600), (10, 15_778_800), (300, 1_051_920)];

    #[test]
    fn the_originals_url_parameters() {
        let default = view("");
        assert_eq!(default.window, Window::Preset(2));
        assert_eq!((default.width, default.height), (1200, 420));
        assert!(default.volume && !default.log && !default.smooth && default.dark);
        let v = view("range=6h&width=99999&height=1&style=line&smooth=1&volume=1&volume=0");
        assert_eq!(v.window, Window::Preset(3));
        assert_eq!((v.width, v.height), (4000, 150));
        assert_eq!((v.style, v.smooth, v.volume), (Style::Line, true, false));
        assert_eq!(
            view("width=abc&height=1.5").width,
            1200,
            "no dropped connection"
        );
        assert_eq!(
            view("range=1y&start=100&end=200").window,
            Window::Custom(100, 200)
        );
        assert_eq!(
            view("range=7d&start=200&end=100").window,
            Window::Preset(5),
            "end before start: the preset"
        );
        assert_eq!(view("range=bogus").span(), 3600);
        assert_eq!(view("range=10y").span(), 315_576_000);
        assert!(!view("theme=classic").dark);
    }

    #[test]
    fn the_originals_step_rule() {
        // docs/original.md, section 2: 1h at 1200 px is 3 s, 5y is 131490 s.
        assert_eq!(effective_step(&view("range=1h"), &ORIGINAL), 3);
        assert_eq!(effective_step(&view("range=5y"), &ORIGINAL), 131_490);
        for (span, step) in [(31_557_600, 1), (31_557_601, 10), (157_788_001, 300)] {
            assert_eq!(archive_step(span, &ORIGINAL), step, "{span}");
            assert_eq!(archive_step(span, &[]), step, "{span}");
        }
        let compact = [(1, 691_200), (10, 267_840), (60, 527_040), (3600, 87_840)];
        assert_eq!(archive_step(8 * 86_400, &compact), 1);
        assert_eq!(archive_step(8 * 86_400 + 1, &compact), 10);
        assert_eq!(archive_step(400 * 86_400, &compact), 3600);
        assert_eq!(
            archive_step(20 * 365 * 86_400, &compact),
            3600,
            "the coarsest"
        );
    }

    #[test]
    fn quoting_as_shlex_does() {
        assert_eq!(shell_quote("--start"), "--start");
        assert_eq!(
            shell_quote("DEF:rx_raw=/a/b.rrd:rx:AVERAGE"),
            "DEF:rx_raw=/a/b.rrd:rx:AVERAGE"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("RX "), "'RX '");
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
        assert_eq!(
            shell_quote("AREA:rxplot#99e6bbB0:RX "),
            "'AREA:rxplot#99e6bbB0:RX '"
        );
    }

    /// The original's command for its observed example (`docs/original.md`,
    /// section 3), light page:
    /// the same arguments, except that the page here has no dark colours
    /// either.
    #[test]
    fn the_originals_example_command() {
        let v = view("range=1h&theme=classic");
        let command = rrdtool_command(&v, "/path/traffic.rrd", "MikroTik Traffic Monitor", 3);
        let expected = "rrdtool graph output.png --start now-1h --end now --step 3 --width 1200 --height 420 --title 'MikroTik Traffic Monitor' --vertical-label bit/s --slope-mode --alt-autoscale-max --imgformat PNG --font TITLE:12: --font AXIS:9: --font LEGEND:9: --font UNIT:9: --units-length 6 --lower-limit 0 DEF:rx_raw=/path/traffic.rrd:rx:AVERAGE DEF:tx_raw=/path/traffic.rrd:tx:AVERAGE CDEF:rx=rx_raw CDEF:tx=tx_raw CDEF:rxplot=rx CDEF:txsafe=tx CDEF:txplot=txsafe VDEF:rxavg=rx_raw,AVERAGE VDEF:rxmax=rx_raw,MAXIMUM VDEF:txavg=tx_raw,AVERAGE VDEF:txmax=tx_raw,MAXIMUM CDEF:rx_bytes=rx_raw,8,/ CDEF:tx_bytes=tx_raw,8,/ VDEF:rxtotal=rx_bytes,TOTAL VDEF:txtotal=tx_bytes,TOTAL 'AREA:rxplot#99e6bbB0:RX ' 'LINE1:rxplot#00aa55' 'GPRINT:rxavg: avg\\:%6.2lf %Sbit/s' 'GPRINT:rxmax:  max\\:%6.2lf %Sbit/s' 'GPRINT:rxtotal:  vol\\:%6.2lf %SB\\n' 'AREA:txplot#b3d9ffB0:TX ' 'LINE1:txplot#2277cc' 'GPRINT:txavg: avg\\:%6.2lf %Sbit/s' 'GPRINT:txmax:  max\\:%6.2lf %Sbit/s' 'GPRINT:txtotal:  vol\\:%6.2lf %SB\\n'";
        assert_eq!(command, expected);
    }

    #[test]
    fn dark_mirror_log_smooth_and_odd_paths() {
        let command = rrdtool_command(
            &view("start=100&end=200&style=mirror&smooth=1&volume=0"),
            "/srv/a:b.rrd",
            "it's",
            1,
        );
        assert!(command.starts_with("rrdtool graph output.png --start 100 --end 200 --step 1"));
        assert!(command.contains("--color 'BACK#1a1d26' --color 'CANVAS#1a1d26'"));
        assert!(!command.contains("--lower-limit"), "mirror has none");
        assert!(command.contains("'DEF:rx_raw=/srv/a\\:b.rrd:rx:AVERAGE'"));
        assert!(command.contains("CDEF:rx=rx_raw,60,TREND CDEF:tx=tx_raw,60,TREND"));
        assert!(command.contains("'CDEF:txplot=txsafe,-1,*' "));
        assert!(command.contains("'AREA:rxplot#99e6bb:RX '"));
        assert!(command.ends_with("'COMMENT:\\n' 'HRULE:0#666666'"));
        assert!(command.contains("--title 'it'\"'\"'s'"));
        let log = rrdtool_command(&view("range=24h&style=mirror&log=1"), "/a.rrd", "t", 72);
        assert!(log.contains("--start now-86400s --end now"));
        assert!(log.contains("--logarithmic --lower-limit 1"));
        assert!(
            log.contains("CDEF:txplot=txsafe ") && !log.contains("HRULE"),
            "log: area"
        );
        assert!(log.contains("CDEF:rxplot=rx,1,MAX CDEF:txsafe=tx,1,MAX"));
    }
}
