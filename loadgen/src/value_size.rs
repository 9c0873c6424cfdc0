//! How many bytes each message's value has: the one size of
//! `workload.message_size`, or a size drawn per message from its distribution
//! by a generator seeded per producer instance, so runs repeat.

use rand::distr::Uniform;
use rand_distr::{Distribution, Exp, Normal};

use crate::random::{Generator, Stream};
use crate::scenario::{MessageSize, SizeDistribution};

/// Picks the size of each value of one producer instance.
#[derive(Debug, Clone)]
pub struct SizePicker {
    draw: Draw,
    rng: Generator,
}

/// A distribution ready to sample, its parameters checked.
#[derive(Debug, Clone)]
enum Draw {
    Fixed(u32),
    Uniform(Uniform<u32>),
    Normal {
        normal: Normal<f64>,
        min: u32,
        max: u32,
    },
    Exponential {
        exp: Exp<f64>,
        min: u32,
        max: u32,
    },
}

impl SizePicker {
    /// The sizes of producer instance `producer` under the workload's `seed`.
    ///
    /// # Panics
    /// If `size` is not one the scenario accepts: `min > max`, or a mean or
    /// standard deviation that is negative or not finite.
    pub fn new(size: MessageSize, seed: u64, producer: u32) -> Self {
        let draw = match size {
            MessageSize::Fixed(size) => Draw::Fixed(size),
            MessageSize::Distributed { min, max, .. } if min == max => Draw::Fixed(min),
            MessageSize::Distributed {
                min,
                max,
                distribution,
            } => match distribution {
                SizeDistribution::Uniform => {
                    Draw::Uniform(Uniform::new_inclusive(min, max).expect("min <= max"))
                }
                SizeDistribution::Normal { mean, stddev } => Draw::Normal {
                    normal: Normal::new(mean, stddev).expect("a finite mean and stddev >= 0"),
                    min,
                    max,
                },
                SizeDistribution::Exponential { mean } => Draw::Exponential {
                    // λ = 1 / (mean − min); a mean of min makes λ infinite and every draw 0.
                    exp: Exp::new(1.0 / (mean - f64::from(min))).expect("mean >= min"),
                    min,
                    max,
                },
            },
        };
        SizePicker {
            draw,
            rng: Generator::new(seed, producer, Stream::Sizes),
        }
    }

    /// The size of the next value, in bytes.
    pub fn next_size(&mut self) -> usize {
        let size = match &self.draw {
            Draw::Fixed(size) => *size,
            Draw::Uniform(uniform) => uniform.sample(&mut self.rng),
            Draw::Normal { normal, min, max } => {
                clamp(normal.sample(&mut self.rng).round(), *min, *max)
            }
            Draw::Exponential { exp, min, max } => clamp(
                f64::from(*min) + exp.sample(&mut self.rng).round(),
                *min,
                *max,
            ),
        };
        size as usize
    }
}

/// `value` within `min..=max`: a draw beyond either bound counts as the bound.
fn clamp(value: f64, min: u32, max: u32) -> u32 {
    // `as` saturates, and the bounds are u32.
    (value.clamp(f64::from(min), f64::from(max))) as u32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn draws(size: MessageSize, seed: u64, producer: u32, n: usize) -> Vec<usize> {
        let mut picker = SizePicker::new(size, seed, producer);
        (0..n).map(|_| picker.next_size()).collect()
    }

    fn mean(sizes: &[usize]) -> f64 {
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
    }

    fn distributed(min: u32, max: u32, distribution: SizeDistribution) -> MessageSize {
        MessageSize::Distributed {
            min,
            max,
            distribution,
        }
    }

    #[test]
    fn a_fixed_size_is_every_size() {
        assert!(
            draws(MessageSize::Fixed(100), 0, 0, 50)
                .iter()
                .all(|&s| s == 100)
        );
        let flat = distributed(64, 64, SizeDistribution::Exponential { mean: 64.0 });
        assert!(draws(flat, 0, 0, 50).iter().all(|&s| s == 64));
    }

    #[test]
    fn sizes_repeat_per_seed_and_instance_and_differ_between_them() {
        let size = distributed(16, 10_000, SizeDistribution::Uniform);
        assert_eq!(draws(size, 1, 2, 100), draws(size, 1, 2, 100));
        assert_ne!(draws(size, 1, 2, 100), draws(size, 1, 3, 100));
        assert_ne!(draws(size, 1, 2, 100), draws(size, 2, 2, 100));
    }

    #[test]
    fn uniform_sizes_cover_the_range_evenly() {
        let sizes = draws(distributed(50, 59, SizeDistribution::Uniform), 0, 0, 10_000);
        for size in 50..=59 {
            let count = sizes.iter().filter(|&&s| s == size).count();
            assert!((850..1150).contains(&count), "{size}: {count} of 10 000");
        }
    }

    #[test]
    fn normal_sizes_spread_by_their_stddev() {
        let normal = SizeDistribution::Normal {
            mean: 2000.0,
            stddev: 100.0,
        };
        let sizes = draws(distributed(16, 5000, normal), 0, 0, 10_000);
        let within_one = sizes
            .iter()
            .filter(|&&s| (1900..=2100).contains(&s))
            .count();
        // 68.3% of a normal distribution lies within one standard deviation.
        assert!((6600..7100).contains(&within_one), "{within_one}");
    }

    #[test]
    fn exponential_sizes_pile_up_near_the_minimum() {
        let exponential = SizeDistribution::Exponential { mean: 1016.0 };
        let sizes = draws(distributed(16, 100_000, exponential), 0, 0, 10_000);
        let below_mean = sizes.iter().filter(|&&s| s < 1016).count();
        // 1 − e^−1 = 63.2% of an exponential distribution lies below its mean.
        assert!((6100..6500).contains(&below_mean), "{below_mean}");
    }

    /// A distribution with `min..=max` within 16..=100 000 and any parameters in range.
    fn sizes() -> impl Strategy<Value = (u32, u32, SizeDistribution)> {
        (
            16..=100_000u32,
            0..=100_000u32,
            0.0..=1.0f64,
            0.0..=2.0f64,
            0..3u8,
        )
            .prop_map(|(min, spread, at, width, kind)| {
                let (low, high) = (f64::from(min), f64::from(min + spread));
                let mean = low + (high - low) * at;
                let distribution = match kind {
                    0 => SizeDistribution::Uniform,
                    1 => SizeDistribution::Normal {
                        mean,
                        stddev: (high - low) * width,
                    },
                    _ => SizeDistribution::Exponential { mean },
                };
                (min, min + spread, distribution)
            })
    }

    /// Like [`sizes`], but with so little beyond `min..=max` (under 0.1% of
    /// draws) that clamping hardly moves the mean, and a spread of at least 100 bytes.
    fn unclamped_sizes() -> impl Strategy<Value = (u32, u32, SizeDistribution, f64)> {
        (
            16..=100_000u32,
            100..=100_000u32,
            0.0..=1.0f64,
            0.01..=0.15f64,
            0..3u8,
        )
            .prop_map(|(min, spread, at, width, kind)| {
                let (low, high) = (f64::from(min), f64::from(min + spread));
                let range = high - low;
                let (distribution, sd) = match kind {
                    0 => (SizeDistribution::Uniform, range / 12f64.sqrt()),
                    // Mean at least 3.3 standard deviations from either bound.
                    1 => {
                        let stddev = range * width;
                        let mean = low + 3.3 * stddev + (range - 6.6 * stddev) * at;
                        (SizeDistribution::Normal { mean, stddev }, stddev)
                    }
                    // The exponential part's mean at most range / 7: e^−7 = 0.09% clamped.
                    _ => {
                        let part = range * width.min(1.0 / 7.0);
                        (SizeDistribution::Exponential { mean: low + part }, part)
                    }
                };
                (min, min + spread, distribution, sd)
            })
    }

    proptest! {
        #[test]
        fn every_size_is_within_min_and_max((min, max, distribution) in sizes(), seed: u64, producer: u32) {
            for size in draws(distributed(min, max, distribution), seed, producer, 500) {
                prop_assert!((min as usize..=max as usize).contains(&size), "{size}");
            }
        }

    }

    proptest! {
        // Statistical: a fixed seed keeps its cases, and so its outcome, the same on every run.
        #![proptest_config(ProptestConfig {
            rng_seed: prop::test_runner::RngSeed::Fixed(5),
            ..ProptestConfig::default()
        })]

        #[test]
        fn the_mean_size_is_near_the_distributions_mean((min, max, distribution, sd) in unclamped_sizes(), seed: u64) {
            let sizes = draws(distributed(min, max, distribution), seed, 0, 4000);
            let expected = match distribution {
                SizeDistribution::Uniform => (f64::from(min) + f64::from(max)) / 2.0,
                SizeDistribution::Normal { mean, .. } | SizeDistribution::Exponential { mean } => mean,
            };
            // Six standard errors of the mean, plus what clamping (under 0.1% of
            // draws, each by at most the range) and rounding to whole bytes move.
            let tolerance = 6.0 * sd / (sizes.len() as f64).sqrt() + 1e-3 * f64::from(max - min) + 0.5;
            let measured = mean(&sizes);
            prop_assert!((measured - expected).abs() <= tolerance, "{measured} vs {expected} ± {tolerance}");
        }
    }
}
