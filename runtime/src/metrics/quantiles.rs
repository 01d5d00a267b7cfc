//! Exact statistics of one interval's histogram samples.

/// The quantiles every histogram point carries, in [`Summary::quantiles`]'s order.
pub const QUANTILES: [f64; 6] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

/// Count, sum, min, max, mean and the [`QUANTILES`] of a set of samples.
///
/// Quantiles are exact, by nearest rank: the `q` quantile of `n` sorted
/// samples is the one at rank `ceil(q * n)` (so the p50 of 1..=4 is 2 and
/// its p99 is 4), always a value that was recorded.
///
/// ```
/// use esrecord::metrics::Summary;
///
/// let summary = Summary::of(&[3.0, 1.0, 2.0, 4.0]).unwrap();
/// assert_eq!((summary.count, summary.sum, summary.min, summary.max), (4, 10.0, 1.0, 4.0));
/// assert_eq!(summary.quantiles[0], 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// `sum / count`.
    pub mean: f64,
    /// p50, p75, p90, p95, p99, p999.
    pub quantiles: [f64; 6],
}

impl Summary {
    /// The summary of `samples`, or `None` when there
    /// are none. Samples that are not finite are left out: no stored
    /// number can hold them.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut finite: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        finite.sort_by(f64::total_cmp);
        let n = finite.len();
        let sum: f64 = finite.iter().sum();
        let rank = |q: f64| {
            let rank = (q * n as f64).ceil() as usize;
            finite[rank.clamp(1, n) - 1]
        };
        Some(Summary {
            count: n as u64,
            sum,
            min: finite[0],
            max: finite[n - 1],
            mean: sum / n as f64,
            quantiles: QUANTILES.map(rank),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_over_the_samples() {
        let samples: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        let summary = Summary::of(&samples).unwrap();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.sum, 500_500.0);
        assert_eq!(
            (summary.min, summary.max, summary.mean),
            (1.0, 1000.0, 500.5)
        );
        assert_eq!(
            summary.quantiles,
            [500.0, 750.0, 900.0, 950.0, 990.0, 999.0]
        );
    }

    #[test]
    fn one_sample_is_every_quantile_and_non_finite_samples_are_left_out() {
        let summary = Summary::of(&[f64::NAN, 7.0, f64::INFINITY]).unwrap();
        assert_eq!(summary.count, 1);
        assert_eq!(summary.quantiles, [7.0; 6]);
        assert_eq!(Summary::of(&[f64::NAN]), None);
        assert_eq!(Summary::of(&[]), None);
    }
}
