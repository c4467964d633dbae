pub use self::connections::{Connections, Slot};
pub use self::messages_queue::MessagesQueue;
pub use self::task_pool::TaskPool;

mod connections;
mod messages_queue;
mod task_pool;

/// Parses a the value of a header.
/// Suitable for `Accept-*`, `TE`, etc.
///
/// mt-trafmon patch: qualities are read as RFC 9110's qvalue ("0" to "1"
/// with at most three decimals) into thousandths, not as an f32: no
/// NaN, nothing above 1, and no float parser in the binary. A q that is
/// not a qvalue is ignored (the element keeps 1000), as an unparsable one
/// was.
///
/// For example with `text/plain, image/png; q=0.5` this function would
/// return `[ ("text/plain", 1000), ("image/png", 500) ]`
pub fn parse_header_value(input: &str) -> Vec<(&str, u16)> {
    input
        .split(',')
        .filter_map(|elem| {
            let mut params = elem.split(';');

            let t = params.next()?;

            let mut value = 1000;

            for p in params {
                if p.trim_start().starts_with("q=") {
                    if let Some(val) = qvalue(p.trim_start()[2..].trim()) {
                        value = val;
                        break;
                    }
                }
            }

            Some((t.trim(), value))
        })
        .collect()
}

/// mt-trafmon patch: an RFC 9110 qvalue in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_header() {
        let result = super::parse_header_value("text/html, text/plain; q=0.5 , image/png ; q=1.000");

        assert_eq!(result.len(), 3);
        assert_eq!(result[0].0, "text/html");
        assert_eq!(result[0].1, 1000);
        assert_eq!(result[1].0, "text/plain");
        assert_eq!(result[1].1, 500);
        assert_eq!(result[2].0, "image/png");
        assert_eq!(result[2].1, 1000);
    }

    // mt-trafmon patch: qvalues only; anything else leaves the default.
    #[test]
    fn qvalues() {
        for (q, want) in [
            ("0", 0),
            ("0.", 0),
            ("0.001", 1),
            ("0.25", 250),
            ("1", 1000),
            ("1.0", 1000),
            ("1.000", 1000),
            ("1.5", 1000),
            ("1.001", 1000),
            ("2", 1000),
            ("0.0001", 1000),
            ("NaN", 1000),
            ("-0", 1000),
            ("+0.5", 1000),
            ("0.-1", 1000),
            ("", 1000),
        ] {
            let header = format!("gzip; q={q}");
            assert_eq!(super::parse_header_value(&header), [("gzip", want)], "{q}");
        }
    }
}
