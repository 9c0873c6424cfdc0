//! A shard: which part of a scenario one of N loadgen processes runs
//! (`run --shard K/N`), so that N machines together run it once.
//!
//! The scenario's producer instances are split into N contiguous groups;
//! shard K runs group K with the instances' own indices. Each instance keeps
//! its place in the whole run's schedule (its share of every phase's rate and
//! messages) and writes its index into every message id, so the shards'
//! messages never collide and together they are exactly the unsharded run's.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Shard `index` of `count` (1-based); `1/1` is the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl Shard {
    /// The whole run: shard 1 of 1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// Unless `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if index >= 1 && index <= count {
            Ok(Shard { index, count })
        } else {
            Err(format!(
                "shard {index}/{count}: expected K/N with 1 <= K <= N"
            ))
        }
    }

    /// Which shard, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether this is the whole run.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The indices of the producer instances this shard runs, of `producers`
    /// in all: group K of N nearly equal contiguous groups.
    pub fn producers(self, producers: u32) -> Range<u32> {
        let bound = |k: u32| (u64::from(producers) * u64::from(k) / u64::from(self.count)) as u32;
        bound(self.index - 1)..bound(self.index)
    }

    /// The share of the run's rate and messages this shard sends: its
    /// producer instances of `producers`.
    pub fn share(self, producers: u32) -> f64 {
        let mine = self.producers(producers);
        f64::from(mine.end - mine.start) / f64::from(producers.max(1))
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, such as `2/3`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) => Shard::new(index, count),
            None => Err(format!("{text:?} is not a shard; expected K/N such as 2/3")),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_producers_into_contiguous_groups_covering_each_once() {
        let groups: Vec<Range<u32>> = (1..=3)
            .map(|k| Shard::new(k, 3).unwrap().producers(8))
            .collect();
        assert_eq!(groups, [0..2, 2..5, 5..8]);
        assert_eq!(Shard::WHOLE.producers(8), 0..8);
        assert_eq!(Shard::new(2, 3).unwrap().share(6), 2.0 / 6.0);
    }

    #[test]
    fn a_shard_is_written_k_slash_n() {
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard::new(2, 3).unwrap());
        assert_eq!(Shard::new(2, 3).unwrap().to_string(), "2/3");
        for bad in ["0/3", "4/3", "1/0", "a/b", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
