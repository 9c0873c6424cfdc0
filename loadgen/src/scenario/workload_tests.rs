//! The `[workload]` and phase values that have a shape of their own: message
//! size distributions, keys and rate ramps, read through whole scenarios.

use super::*;
use crate::scenario::test_support::{MINIMAL, error, parse};

/// The `[workload]` of `MINIMAL` plus `workload`.
fn workload(workload: &str) -> Workload {
    parse(&format!("{MINIMAL}[workload]\n{workload}\n"))
        .unwrap_or_else(|e| panic!("{e}"))
        .workload
}

#[test]
fn message_size_distributions_take_their_documented_defaults() {
    let size = |table: &str| workload(&format!("message_size = {table}")).message_size;
    let distributed = |min, max, distribution| MessageSize::Distributed {
        min,
        max,
        distribution,
    };
    assert_eq!(
        size("{ min = 50, max = 5000 }"),
        distributed(50, 5000, SizeDistribution::Uniform)
    );
    assert_eq!(
        size("{ min = 100, max = 700, distribution = \"normal\" }"),
        distributed(
            100,
            700,
            SizeDistribution::Normal {
                mean: 400.0,
                stddev: 100.0
            }
        )
    );
    assert_eq!(
        size("{ min = 100, max = 900, distribution = \"exponential\" }"),
        distributed(100, 900, SizeDistribution::Exponential { mean: 300.0 })
    );
    assert_eq!(
        size("{ min = 16, max = 16 }"),
        distributed(16, 16, SizeDistribution::Uniform)
    );
}

#[test]
fn message_size_distributions_take_a_mean_and_a_stddev() {
    let size = |table: &str| workload(&format!("message_size = {table}")).message_size;
    assert_eq!(
        size("{ min = 100, max = 700, distribution = \"normal\", mean = 200, stddev = 12.5 }"),
        MessageSize::Distributed {
            min: 100,
            max: 700,
            distribution: SizeDistribution::Normal {
                mean: 200.0,
                stddev: 12.5
            },
        }
    );
    assert_eq!(
        size("{ min = 100, max = 700, distribution = \"exponential\", mean = 150 }"),
        MessageSize::Distributed {
            min: 100,
            max: 700,
            distribution: SizeDistribution::Exponential { mean: 150.0 },
        }
    );
}

#[test]
fn zipf_keys_have_an_exponent_of_1_unless_one_is_given() {
    assert_eq!(
        workload("keys = { kind = \"zipf\", count = 1000 }").keys,
        Keys::Zipf {
            count: 1000,
            exponent: 1.0
        }
    );
    assert_eq!(
        workload("keys = { kind = \"zipf\", count = 10, exponent = 0.8 }").keys,
        Keys::Zipf {
            count: 10,
            exponent: 0.8
        }
    );
    assert_eq!(
        workload("keys = { kind = \"sequential\", count = 3 }").keys,
        Keys::Sequential { count: 3 }
    );
}

#[test]
fn a_rate_is_a_number_or_a_ramp_with_either_end_at_0() {
    let rate = |rate: &str| {
        parse(&format!(
            "name = \"t\"\n[[phases]]\nname = \"p\"\nduration = \"1s\"\nrate = {rate}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"))
        .phases[0]
            .rate
    };
    assert_eq!(rate("7"), Rate::Constant(7));
    assert_eq!(rate("0"), Rate::CLOSED_LOOP);
    assert_eq!(
        rate("{ from = 10000, to = 100000 }"),
        Rate::Ramp {
            from: 10_000,
            to: 100_000
        }
    );
    assert_eq!(rate("{ from = 0, to = 5 }"), Rate::Ramp { from: 0, to: 5 });
    assert_eq!(rate("{ from = 5, to = 5 }"), Rate::Ramp { from: 5, to: 5 });
    assert_eq!(Rate::Ramp { from: 0, to: 5 }.to_string(), "0→5");
    assert!(!Rate::CLOSED_LOOP.is_open_loop());
    assert!(Rate::Ramp { from: 0, to: 5 }.is_open_loop());
}

#[test]
fn invalid_workload_distributions_and_ramps_name_the_key_and_what_is_allowed() {
    let cases = [
        (
            "[workload]\nmessage_size = { min = 8, max = 100 }\n",
            "line 6: workload.message_size.min: 8 bytes is too small; expected at least 16 (the message id takes 16 bytes)",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 40 }\n",
            "line 6: workload.message_size: max 40 is below min 50; expected min <= max",
        ),
        (
            "[workload]\nmessage_size = { min = 50 }\n",
            "line 6: workload.message_size: missing field `max`",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, distribution = \"pareto\" }\n",
            "line 6: workload.message_size.distribution: unknown variant `pareto`, expected one of `uniform`, `normal`, `exponential`",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, size = 3 }\n",
            "line 6: workload.message_size.size: unknown field `size`, expected one of `min`, `max`, `distribution`, `mean`, `stddev`",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, mean = 100 }\n",
            "workload.message_size: mean applies to distribution = \"normal\" or \"exponential\"; a uniform distribution's mean is (min + max) / 2",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, distribution = \"exponential\", stddev = 3 }\n",
            "workload.message_size: stddev applies to distribution = \"normal\" only",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, distribution = \"normal\", mean = 600 }\n",
            "workload.message_size: mean 600 is outside min 50 to max 500; expected min <= mean <= max",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, distribution = \"exponential\", mean = nan }\n",
            "workload.message_size.mean: NaN is not allowed; expected a number of bytes",
        ),
        (
            "[workload]\nmessage_size = { min = 50, max = 500, distribution = \"normal\", stddev = 0 }\n",
            "workload.message_size.stddev: 0 is not allowed; expected a positive number",
        ),
        (
            "[workload]\nkeys = { kind = \"zipf\", count = 5, exponent = 0 }\n",
            "line 6: workload.keys.exponent: 0 is not allowed; expected a positive number",
        ),
        (
            "[workload]\nkeys = { kind = \"zipf\", count = 5, exponent = \"steep\" }\n",
            "workload.keys.exponent: invalid type: string \"steep\", expected f64",
        ),
        (
            "[workload]\nkeys = { kind = \"zipf\", count = 0 }\n",
            "workload.keys.count: 0 is not allowed; expected an integer of at least 1",
        ),
        (
            "[workload]\nkeys = { kind = \"uniform\", count = 5, exponent = 1.5 }\n",
            "line 6: workload.keys: exponent applies to kind = \"zipf\" only",
        ),
        (
            "[workload]\nseed = -1\n",
            "line 6: workload.seed: invalid value: integer `-1`, expected u64",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = { from = 0, to = 0 }\n",
            "line 8: phases[1].rate: a ramp from 0 to 0 sends nothing; expected from or to above 0 (for closed loop, write rate = 0)",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = { from = 10 }\n",
            "line 8: phases[1].rate: missing field `to`",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = { from = 10, to = 20, over = \"1s\" }\n",
            "line 8: phases[1].rate.over: unknown field `over`, expected `from` or `to`",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = { from = -1, to = 20 }\n",
            "line 8: phases[1].rate.from: invalid value: integer `-1`, expected u64",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = -5\n",
            "line 8: phases[1].rate: invalid value: integer `-5`, expected messages per second as an integer of at least 0, or { from = A, to = B }",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"1s\"\nrate = 2.5\n",
            "line 8: phases[1].rate: invalid type: floating point `2.5`, expected messages per second",
        ),
    ];
    for (extra, expected) in cases {
        let err = error(&format!("{MINIMAL}{extra}"));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
}
