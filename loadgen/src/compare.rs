//! `loadgen compare`: two JSON reports side by side, and whether the second
//! regressed from the first by more than allowed, as a CI gate.
//!
//! Pure: it reads two reports ([`serde_json::Value`]s, as `run --json`
//! writes them) and the allowed regressions, and returns the table and the
//! regressions found.

use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::Value;

use crate::format::number;

/// A number of a report that `compare` can hold against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name in `--max-regression`.
    pub name: &'static str,
    /// Where it is in the report, from `total`.
    path: [&'static str; 2],
    /// Whether higher is better (throughput), else lower is (latency).
    higher_is_better: bool,
    /// Its unit, for the table.
    unit: &'static str,
}

/// Every metric, in the table's order.
pub const METRICS: [Metric; 9] = [
    latency("p50", "p50"),
    latency("p90", "p90"),
    latency("p99", "p99"),
    latency("p999", "p999"),
    latency("p9999", "p9999"),
    latency("max", "max"),
    latency("mean", "mean"),
    Metric {
        name: "throughput",
        path: ["throughput_msgs_per_s", ""],
        higher_is_better: true,
        unit: "msgs/s",
    },
    Metric {
        name: "throughput_mb",
        path: ["throughput_mb_per_s", ""],
        higher_is_better: true,
        unit: "MB/s",
    },
];

const fn latency(name: &'static str, key: &'static str) -> Metric {
    Metric {
        name,
        path: ["latency_us", key],
        higher_is_better: false,
        unit: "µs",
    }
}

impl Metric {
    /// The metric's value in `report` (its `total`), if there is one.
    fn value(&self, report: &Value) -> Option<f64> {
        let mut value = &report["total"][self.path[0]];
        if !self.path[1].is_empty() {
            value = &value[self.path[1]];
        }
        value.as_f64()
    }
}

/// The most a metric may get worse, as a share of its baseline: `p99=10%`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// The metric.
    pub metric: Metric,
    /// The share, such as 0.1 for 10%.
    pub share: f64,
}

/// `--max-regression`: a comma-separated list of `METRIC=N%`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allowances(pub Vec<Allowance>);

impl FromStr for Allowances {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let names = || METRICS.map(|m| m.name).join(", ");
        let mut allowances = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, limit) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not METRIC=N% (such as p99=10%)"))?;
            let metric = METRICS
                .into_iter()
                .find(|m| m.name == name.trim())
                .ok_or_else(|| format!("unknown metric {:?}; known: {}", name.trim(), names()))?;
            let percent = limit
                .trim()
                .strip_suffix('%')
                .unwrap_or(limit.trim())
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "{name}={limit}: {limit:?} is not a percentage; expected a number of at least 0, such as 10%"
                    )
                })?;
            if allowances.iter().any(|a: &Allowance| a.metric == metric) {
                return Err(format!("{name} is given twice"));
            }
            allowances.push(Allowance {
                metric,
                share: percent / 100.0,
            });
        }
        if allowances.is_empty() {
            return Err(format!("no METRIC=N% given; known metrics: {}", names()));
        }
        Ok(Allowances(allowances))
    }
}

/// The outcome: the table, and one line per regression beyond its allowance.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The side-by-side table, one line per metric.
    pub table: String,
    /// Each metric that regressed more than allowed, as a sentence.
    pub regressions: Vec<String>,
}

/// Compares `current` with `baseline`, holding each metric of `allowances` to its share.
///
/// # Errors
/// A metric with an allowance that one of the reports lacks (a run with
/// nothing acknowledged has no latency), naming it and the report.
pub fn compare(
    baseline: &Value,
    current: &Value,
    allowances: &Allowances,
) -> Result<Comparison, String> {
    let mut table = format!(
        "{:<14}{:>18}{:>18}{:>10}  {}\n",
        "metric", "baseline", "current", "change", "allowed"
    );
    let mut regressions = Vec::new();
    for metric in METRICS {
        let allowance = allowances.0.iter().find(|a| a.metric == metric);
        let (before, after) = (metric.value(baseline), metric.value(current));
        let (Some(before), Some(after)) = (before, after) else {
            if allowance.is_some() {
                let which = if before.is_none() {
                    "the baseline"
                } else {
                    "the current report"
                };
                return Err(format!(
                    "{} is not in {which} (its total has no {}{})",
                    metric.name,
                    metric.path[0],
                    if metric.path[1].is_empty() {
                        String::new()
                    } else {
                        format!(".{}", metric.path[1])
                    }
                ));
            }
            let _ = writeln!(
                table,
                "{:<14}{:>18}{:>18}{:>10}  -",
                metric.name, "-", "-", "-"
            );
            continue;
        };
        // How much worse, as a share of the baseline: positive is worse.
        let worse = if before == 0.0 {
            if after == before {
                0.0
            } else if (after > before) != metric.higher_is_better {
                f64::INFINITY
            } else {
                -1.0
            }
        } else if metric.higher_is_better {
            (before - after) / before
        } else {
            (after - before) / before
        };
        let change = if before == 0.0 {
            "-".to_string()
        } else {
            format!("{:+.1}%", (after - before) / before * 100.0)
        };
        let allowed = match allowance {
            Some(a) if worse > a.share => {
                regressions.push(format!(
                    "{} regressed: {} {} against {} {} ({}, allowed {}% worse)",
                    metric.name,
                    number(after),
                    metric.unit,
                    number(before),
                    metric.unit,
                    change,
                    number(a.share * 100.0)
                ));
                format!("{}% worse: REGRESSION", number(a.share * 100.0))
            }
            Some(a) => format!("{}% worse: ok", number(a.share * 100.0)),
            None => "-".to_string(),
        };
        let _ = writeln!(
            table,
            "{:<14}{:>18}{:>18}{:>10}  {allowed}",
            metric.name,
            format!("{} {}", number(before), metric.unit),
            format!("{} {}", number(after), metric.unit),
            change
        );
    }
    Ok(Comparison { table, regressions })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn report(p99: u64, throughput: f64) -> Value {
        json!({"total": {
            "throughput_msgs_per_s": throughput, "throughput_mb_per_s": throughput / 10_000.0,
            "latency_us": {"p50": 100, "p90": 200, "p99": p99, "p999": 900, "p9999": 1000, "max": 1000, "mean": 150.5}
        }})
    }

    #[test]
    fn a_regression_beyond_its_allowance_is_named_and_within_it_is_ok() {
        let allowances: Allowances = "p99=10%,throughput=5%".parse().unwrap();
        let ok = compare(&report(500, 1000.0), &report(549, 960.0), &allowances).unwrap();
        assert!(ok.regressions.is_empty(), "{:?}", ok.regressions);
        assert!(ok.table.contains("10% worse: ok"), "{}", ok.table);
        let bad = compare(&report(500, 1000.0), &report(551, 940.0), &allowances).unwrap();
        assert_eq!(
            bad.regressions,
            [
                "p99 regressed: 551 µs against 500 µs (+10.2%, allowed 10% worse)",
                "throughput regressed: 940 msgs/s against 1000 msgs/s (-6.0%, allowed 5% worse)",
            ]
        );
        let p99 = bad.table.lines().find(|l| l.starts_with("p99 ")).unwrap();
        assert!(p99.ends_with("10% worse: REGRESSION"), "{p99}");
        // Better is never a regression.
        let better = compare(&report(500, 1000.0), &report(100, 5000.0), &allowances).unwrap();
        assert!(better.regressions.is_empty());
    }

    #[test]
    fn unknown_metrics_and_bad_percentages_are_refused_by_name() {
        let err = "p98=10%".parse::<Allowances>().unwrap_err();
        assert!(
            err.starts_with("unknown metric \"p98\"; known: p50, p90, p99, p999, p9999, max, mean, throughput, throughput_mb"),
            "{err}"
        );
        assert!(
            "p99"
                .parse::<Allowances>()
                .unwrap_err()
                .contains("METRIC=N%")
        );
        assert!(
            "p99=ten%"
                .parse::<Allowances>()
                .unwrap_err()
                .contains("not a percentage")
        );
        assert!(
            "p99=1%,p99=2%"
                .parse::<Allowances>()
                .unwrap_err()
                .contains("twice")
        );
        assert!("".parse::<Allowances>().is_err());
    }

    #[test]
    fn a_metric_missing_from_a_report_is_an_error_only_when_it_is_gated() {
        let empty = json!({"total": {"throughput_msgs_per_s": 0.0, "latency_us": null}});
        let p99: Allowances = "p99=10%".parse().unwrap();
        let err = compare(&report(500, 1000.0), &empty, &p99).unwrap_err();
        assert_eq!(
            err,
            "p99 is not in the current report (its total has no latency_us.p99)"
        );
        let throughput: Allowances = "throughput=10%".parse().unwrap();
        let cmp = compare(&report(500, 1000.0), &empty, &throughput).unwrap();
        assert_eq!(cmp.regressions.len(), 1, "{}", cmp.table);
    }
}
