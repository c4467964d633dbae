//! Sorting for mt-trafmon's own lists (archives, data sources, addresses,
//! row spans, time bounds, ranked values), with one merge sort in the
//! whole binary: std's `sort`, `sort_unstable` and `sort_by_key` compile a
//! separate copy of their sort (kilobytes of code) for every element type
//! and every key closure, while [`sort_by_key`], [`sort`] and
//! [`sort_dedup`] only compare through a `dyn Fn` on positions and then
//! move the items into their places. Stable, like std's `sort_by_key`,
//! and O(n log n).

/// Sorts `items` by `key`, keeping the order of items with equal keys.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    arrange(items, &|a, b| key(a) < key(b));
}

/// Sorts `items` ascending (stable, like std's `sort`).
pub fn sort<T: Ord>(items: &mut Vec<T>) {
    arrange(items, &|a, b| a < b);
}

/// Sorts `items` ascending and drops repeated values, like std's
/// `sort_unstable` followed by `dedup`.
pub fn sort_dedup<T: Ord>(items: &mut Vec<T>) {
    sort(items);
    items.dedup();
}

/// Puts `items` in the order [`order`] finds with `less` (one copy per
/// item type, whatever the key or comparison).
fn arrange<T>(items: &mut Vec<T>, less: &dyn Fn(&T, &T) -> bool) {
    let order = order(items.len(), &|a, b| less(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// The positions `0..len` in sorted order, where `less(a, b)` says
/// whether the item at `a` sorts before the one at `b`; positions with
/// neither before the other keep their order. A bottom-up merge sort.
fn order(len: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut from: Vec<usize> = (0..len).collect();
    let mut to = vec![0; len];
    let mut width = 1;
    while width < len {
        for start in (0..len).step_by(2 * width) {
            let middle = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut left, mut right) = (start, middle);
            for slot in &mut to[start..end] {
                // The right run's item goes first only if strictly smaller.
                if right < end && (left == middle || less(from[right], from[left])) {
                    *slot = from[right];
                    right += 1;
                } else {
                    *slot = from[left];
                    left += 1;
                }
            }
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_std_and_stays_stable() {
        let mut x = 7u64;
        for len in (0..40).chain([100, 257, 1000]) {
            let items: Vec<(u64, usize)> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Few distinct keys, so that stability is tested.
                    (x % 7, i)
                })
                .collect();
            let mut ours = items.clone();
            sort_by_key(&mut ours, |&(k, _)| k);
            let mut std = items;
            std.sort_by_key(|&(k, _)| k);
            assert_eq!(ours, std, "{len} items");
        }
    }

    #[test]
    fn sort_and_sort_dedup_match_std() {
        let mut x = 11u64;
        for len in (0..40).chain([100, 513]) {
            let items: Vec<(i64, i64)> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Repeats, negative values and extremes.
                    let a = [i64::MIN, -3, 0, 2, i64::MAX][(x % 5) as usize];
                    (a, (x >> 8) as i64 % 4 - 2)
                })
                .collect();
            let mut ours = items.clone();
            sort(&mut ours);
            let mut std = items.clone();
            std.sort_unstable();
            assert_eq!(ours, std, "{len} items");
            let mut ours = items.clone();
            sort_dedup(&mut ours);
            std.dedup();
            assert_eq!(ours, std, "{len} items, deduplicated");
        }
        let mut names = vec![String::from("b"), String::from("a"), String::from("b")];
        sort_dedup(&mut names);
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn items_need_not_be_clone() {
        let mut names = vec![String::from("b"), String::from("c"), String::from("a")];
        sort_by_key(&mut names, |name| name.clone());
        assert_eq!(names, ["a", "b", "c"]);
    }
}
