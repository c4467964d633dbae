//! Sorting for mt-trafmon's own lists (archives, data sources, addresses,
//! row spans), with one merge sort in the whole binary: std's `sort` and
//! `sort_by_key` compile a separate copy of their sort (kilobytes of code)
//! for every element type and every key closure, while [`sort_by_key`]
//! only compares through a `dyn Fn` on positions and then moves the items
//! into their places. Stable, like std's `sort_by_key`, and O(n log n).

/// Sorts `items` by `key`, keeping the order of items with equal keys.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let order = order(items.len(), &|a, b| key(&items[a]) < key(&items[b]));
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
    fn items_need_not_be_clone() {
        let mut names = vec![String::from("b"), String::from("c"), String::from("a")];
        sort_by_key(&mut names, |name| name.clone());
        assert_eq!(names, ["a", "b", "c"]);
    }
}
