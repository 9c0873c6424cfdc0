//! HdrHistogram's percentile-distribution text (`.hgrm`), the format of Java
//! HdrHistogram's `outputPercentileDistribution` that its plotter reads.
//!
//! The `hdrhistogram` crate has the quantile iterator (5 ticks per half
//! distance, as Java's default) but no writer for this format, so the rows
//! are formatted here exactly as Java formats them.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Quantile steps per halving of the distance to 100%, as in Java's output.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The distribution of `histogram`, whose values are in µs, in milliseconds.
pub fn percentile_distribution(histogram: &Histogram<u64>) -> String {
    distribution(histogram, 1000.0)
}

/// The distribution of `histogram` with every value divided by `scale`.
fn distribution(histogram: &Histogram<u64>, scale: f64) -> String {
    let digits = usize::from(histogram.sigfig());
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !histogram.is_empty() {
        let mut total_count = 0u64;
        for step in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total_count += step.count_since_last_iteration();
            let value = step.value_iterated_to() as f64 / scale;
            let quantile = step.quantile_iterated_to();
            if quantile < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.digits$} {quantile:2.12} {total_count:10} {:14.2}",
                    1.0 / (1.0 - quantile)
                );
            } else {
                let _ = writeln!(out, "{value:12.digits$} {quantile:2.12} {total_count:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.digits$}, StdDeviation   = {:12.digits$}]",
        histogram.mean() / scale,
        histogram.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.digits$}, Total count    = {:12}]",
        histogram.max() as f64 / scale,
        histogram.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        histogram.buckets(),
        sub_buckets(histogram.sigfig())
    );
    out
}

/// Sub-buckets per bucket: the smallest power of two holding 2 × 10^digits
/// values (the crate keeps the count private).
fn sub_buckets(digits: u8) -> u64 {
    (2 * 10u64.pow(u32::from(digits))).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{HIGHEST_MICROS, LOWEST_MICROS, SIGNIFICANT_DIGITS};

    fn histogram() -> Histogram<u64> {
        Histogram::new_with_bounds(LOWEST_MICROS, HIGHEST_MICROS, SIGNIFICANT_DIGITS).unwrap()
    }

    #[test]
    fn rows_follow_the_quantile_ticks_and_end_at_100_percent_without_the_last_column() {
        let mut h = histogram();
        for us in 1..=10_000u64 {
            h.record(us * 1000).unwrap();
        }
        let text = percentile_distribution(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        assert_eq!(
            lines[3],
            "    1000.447 0.100000000000       1000           1.11"
        );
        let last_row = lines[lines.len() - 4];
        assert_eq!(last_row, "   10002.431 1.000000000000      10000");
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =     5000.505, StdDeviation   =     2886.752]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =    10002.431, Total count    =        10000]"
        );
        assert_eq!(
            lines[lines.len() - 1],
            format!(
                "#[Buckets = {:>12}, SubBuckets     =         2048]",
                h.buckets()
            )
        );
        // Every row's total count and quantile only grow.
        let rows: Vec<(f64, u64)> = lines[2..lines.len() - 3]
            .iter()
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols[1].parse().unwrap(), cols[2].parse().unwrap())
            })
            .collect();
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn an_empty_histogram_has_the_header_and_footer_only() {
        let text = percentile_distribution(&histogram());
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("#[Max     =        0.000, Total count    =            0]"));
    }

    #[test]
    fn three_digits_need_2048_sub_buckets() {
        assert_eq!(sub_buckets(3), 2048);
        assert_eq!(sub_buckets(2), 256);
    }
}
