//! The `print` filters of the RouterOS API: the stack-based query words and
//! the `.proplist` selection, evaluated on one row at a time.
//!
//! The rules are API-DOC's ("Queries"): the stack starts with an infinite
//! number of `true` values; `?name`, `?-name`, `?name=x` (or `?=name=x`),
//! `?<name=x` and `?>name=x` push one value; `?#ops` combines them with `!`,
//! `&`, `|`, `.` and decimal stack indexes (the top is index 0); a row
//! matches unless a `false` is left on the stack, so no query at all
//! matches every row.
//!
//! This module does no I/O and knows nothing about sockets or replies. It
//! does not support regular expressions (`~`), which RouterOS also refuses.

use crate::routeros::wire::{Attrs, parse_decimal};

/// A query word that cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryError {
    /// The word (without its leading `?`).
    pub word: Vec<u8>,
}

/// Whether `row` passes the query words (each without its leading `?`).
pub(crate) fn matches(queries: &[Vec<u8>], row: &Attrs) -> Result<bool, QueryError> {
    let mut stack: Vec<bool> = Vec::new();
    for word in queries {
        match word.split_first() {
            Some((b'#', ops)) => {
                apply_ops(&mut stack, ops).map_err(|()| QueryError { word: word.clone() })?
            }
            Some((b'-', name)) => stack.push(value_of(row, name).is_none()),
            Some((b'<', rest)) => stack.push(compare(row, rest) == Some(std::cmp::Ordering::Less)),
            Some((b'>', rest)) => {
                stack.push(compare(row, rest) == Some(std::cmp::Ordering::Greater))
            }
            Some((b'=', rest)) => stack.push(equals(row, rest)),
            Some(_) if word.contains(&b'=') => stack.push(equals(row, word)),
            Some(_) => stack.push(value_of(row, word).is_some()),
            // An empty query word is an assumption: it is not documented, and
            // pushing nothing is the most harmless reading.
            None => {}
        }
    }
    Ok(!stack.contains(&false))
}

/// The attributes of `row` named in `proplist` (comma-separated), in the
/// order of the list, leaving out names the row does not have. Without a
/// list the row is returned whole.
pub(crate) fn project(row: &Attrs, proplist: Option<&[u8]>) -> Attrs {
    let Some(list) = proplist else {
        return row.clone();
    };
    let mut selected = Attrs::default();
    for name in list.split(|&b| b == b',') {
        let already = selected.0.iter().any(|(n, _)| n == name);
        if let (false, Some(value)) = (already, value_of(row, name)) {
            selected.push(name, value);
        }
    }
    selected
}

/// The value of the first attribute called `name`, a name given as bytes
/// (the codec's [`Attrs::get`] takes a `&str`).
fn value_of<'a>(row: &'a Attrs, name: &[u8]) -> Option<&'a [u8]> {
    row.0
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// Splits `name=value` at the first `=`; a word without `=` has an empty value.
fn split_pair(word: &[u8]) -> (&[u8], &[u8]) {
    match word.iter().position(|&b| b == b'=') {
        Some(i) => (&word[..i], &word[i + 1..]),
        None => (word, &[]),
    }
}

/// `name=value` equality. A row without the property never equals anything,
/// not even an empty value: an assumption, since API-DOC does not say.
fn equals(row: &Attrs, pair: &[u8]) -> bool {
    let (name, value) = split_pair(pair);
    value_of(row, name) == Some(value)
}

/// Compares the row's value of `name` with `x` for `?<name=x` and
/// `?>name=x`. Decimal numbers compare as numbers, anything else as bytes
/// (so `?>comment=` finds non-empty comments, API-DOC's example); the
/// byte-wise fallback is an assumption. A missing property compares as
/// neither less nor greater.
fn compare(row: &Attrs, pair: &[u8]) -> Option<std::cmp::Ordering> {
    let (name, x) = split_pair(pair);
    let value = value_of(row, name)?;
    match (parse_decimal::<u64>(value), parse_decimal::<u64>(x)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => Some(value.cmp(x)),
    }
}

/// Applies the operations of a `?#` word. An unknown character is an error
/// (an assumption: RouterOS's reaction is not documented).
fn apply_ops(stack: &mut Vec<bool>, ops: &[u8]) -> Result<(), ()> {
    // Below the stack lie infinitely many `true` values.
    fn pop(stack: &mut Vec<bool>) -> bool {
        stack.pop().unwrap_or(true)
    }
    fn at(stack: &[bool], index: usize) -> bool {
        index
            .checked_add(1)
            .and_then(|depth| stack.len().checked_sub(depth))
            .is_none_or(|i| stack[i])
    }
    let mut i = 0;
    let mut after_index = false;
    while i < ops.len() {
        if ops[i].is_ascii_digit() {
            let end = ops[i..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(ops.len(), |n| i + n);
            let index = parse_decimal::<usize>(&ops[i..end]).unwrap_or(usize::MAX);
            let value = at(stack, index);
            if end == ops.len() {
                stack.clear();
                stack.push(value);
            } else {
                stack.push(value);
            }
            i = end;
            after_index = true;
            continue;
        }
        match ops[i] {
            b'!' => {
                let top = pop(stack);
                stack.push(!top);
            }
            b'&' => {
                let (a, b) = (pop(stack), pop(stack));
                stack.push(a && b);
            }
            b'|' => {
                let (a, b) = (pop(stack), pop(stack));
                stack.push(a || b);
            }
            b'.' if after_index => {}
            b'.' => stack.push(at(stack, 0)),
            _ => return Err(()),
        }
        after_index = false;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Attrs {
        let mut attrs = Attrs::default();
        for (name, value) in pairs {
            attrs.push(*name, *value);
        }
        attrs
    }

    fn ether1() -> Attrs {
        row(&[
            (".id", "*1"),
            ("name", "ether1"),
            ("type", "ether"),
            ("mtu", "1500"),
            ("comment", "WAN"),
        ])
    }

    fn ether2() -> Attrs {
        row(&[
            (".id", "*2"),
            ("name", "ether2"),
            ("type", "ether"),
            ("mtu", "9000"),
        ])
    }

    fn bridge() -> Attrs {
        row(&[
            (".id", "*4"),
            ("name", "bridge1"),
            ("type", "bridge"),
            ("mtu", "1500"),
        ])
    }

    /// Which of ether1, ether2 and bridge1 pass `queries`.
    fn check(queries: &[&str], expected: [bool; 3]) {
        let words: Vec<Vec<u8>> = queries.iter().map(|q| q.as_bytes().to_vec()).collect();
        let got = [ether1(), ether2(), bridge()].map(|r| matches(&words, &r).unwrap());
        assert_eq!(got, expected, "{queries:?}");
    }

    #[test]
    fn no_query_matches_everything() {
        check(&[], [true, true, true]);
    }

    #[test]
    fn equality_in_both_spellings() {
        check(&["name=ether1"], [true, false, false]);
        check(&["=name=ether2"], [false, true, false]);
        check(&["type=ether"], [true, true, false]);
        check(&["comment="], [false, false, false]);
    }

    #[test]
    fn presence_and_absence() {
        check(&["comment"], [true, false, false]);
        check(&["-comment"], [false, true, true]);
        check(&["-name"], [false, false, false]);
    }

    #[test]
    fn numeric_and_bytewise_comparison() {
        check(&["<mtu=2000"], [true, false, true]);
        check(&[">mtu=1500"], [false, true, false]);
        check(&[">mtu=900"], [true, true, true]);
        check(&[">comment="], [true, false, false]);
        check(&["<name=ether"], [false, false, true]);
    }

    #[test]
    fn two_pushes_without_an_operator_need_both() {
        check(&["name=ether1", "name=ether2"], [false, false, false]);
        check(&["type=ether", "mtu=1500"], [true, false, false]);
    }

    #[test]
    fn or_and_not() {
        check(&["name=ether1", "name=ether2", "#|"], [true, true, false]);
        check(&["type=ether", "mtu=1500", "#&"], [true, false, false]);
        check(&["type=ether", "#!"], [false, false, true]);
        check(&["type=ether", "name=ether2", "#|!"], [false, false, true]);
    }

    #[test]
    fn stack_indexes() {
        // Push a copy of index 1 (the first push), then `and` it with the top.
        check(&["type=ether", "mtu=1500", "#1&"], [true, false, false]);
        // An index at the end replaces the whole stack with that value.
        check(&["type=ether", "mtu=9000", "#1"], [true, true, false]);
        check(&["type=ether", "mtu=9000", "#0"], [false, true, false]);
        // `.` after an index does nothing; after anything else it copies the top.
        check(&["mtu=9000", "#0.|"], [false, true, false]);
        check(&["mtu=9000", "#!.&"], [true, false, true]);
        // Indexes below the stack read the infinite `true` values.
        check(&["mtu=9000", "#5"], [true, true, true]);
        check(
            &["mtu=9000", "#99999999999999999999999"],
            [true, true, true],
        );
        // Operators on an empty stack use those `true` values too.
        check(&["#!"], [false, false, false]);
        check(&["#|"], [true, true, true]);
    }

    #[test]
    fn unknown_operations_are_errors() {
        let words = vec![b"#~".to_vec()];
        assert_eq!(
            matches(&words, &ether1()),
            Err(QueryError {
                word: b"#~".to_vec()
            })
        );
    }

    #[test]
    fn proplist_keeps_listed_names_in_list_order() {
        let projected = project(&ether1(), Some(b"mtu,name,missing,.id,name"));
        assert_eq!(
            projected,
            row(&[("mtu", "1500"), ("name", "ether1"), (".id", "*1")])
        );
        assert_eq!(project(&ether1(), None), ether1());
        assert_eq!(project(&ether1(), Some(b"")), Attrs::default());
    }
}
