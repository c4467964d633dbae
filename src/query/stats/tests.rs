//! Tests of the percentile's rank rule.

use super::{order_key, percentile95};

#[test]
fn the_rank_is_the_ceiling_of_95_percent_of_the_count() {
    let ranked = |n: usize| {
        // n values, shuffled: 1, 2, … n.
        let mut keys: Vec<i64> = (1..=n)
            .map(|v| order_key(((v * 7919) % n + 1) as f64))
            .collect();
        percentile95(&mut keys)
    };
    assert_eq!(ranked(0), None);
    assert_eq!(ranked(1), Some(1.0));
    assert_eq!(ranked(19), Some(19.0)); // ⌈18.05⌉
    assert_eq!(ranked(20), Some(19.0)); // 19: the top one discarded
    assert_eq!(ranked(21), Some(20.0)); // ⌈19.95⌉
    assert_eq!(ranked(100), Some(95.0));
    assert_eq!(ranked(8640), Some(8208.0)); // a month of 5-minute slots
    let mut with_ties = [5.0, 1.0, 5.0, 5.0].map(order_key).to_vec();
    assert_eq!(percentile95(&mut with_ties), Some(5.0));
    // Keys order as the floats do, negative and fractional ones too.
    let mut mixed = [2.5, -1.0, 0.0, 1e9, -0.0, 0.25].map(order_key);
    mixed.sort_unstable();
    let back = mixed.map(|k| f64::from_bits(super::flip(k) as u64));
    assert_eq!(
        back.map(f64::to_bits),
        [-1.0, -0.0, 0.0, 0.25, 2.5, 1e9].map(f64::to_bits)
    );
}
