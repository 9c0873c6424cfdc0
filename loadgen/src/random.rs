//! The seeded generator behind every random choice of a run (keys, value
//! sizes), so that a scenario draws the same keys and sizes every time it runs.
//!
//! Each producer instance has one generator per [`Stream`], seeded from
//! `workload.seed`, the instance index and the stream: instances draw
//! different sequences, and drawing value sizes does not change which keys
//! are drawn. The distributions themselves come from `rand` and `rand_distr`.

use rand::RngCore;

/// What a generator's numbers are used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `workload.keys`.
    Keys,
    /// `workload.message_size`.
    Sizes,
}

impl Stream {
    /// Mixed into the seed. The keys' salt is 0 so that with `seed = 0` uniform
    /// keys are the ones loadgen drew before seeds existed.
    fn salt(self) -> u64 {
        match self {
            Stream::Keys => 0,
            Stream::Sizes => 0x5349_5A45_5349_5A45,
        }
    }
}

/// Steele, Lea and Flood's SplitMix64: small, fast, and the same sequence on
/// every platform and with every version of `rand`, which is what makes runs repeat.
#[derive(Debug, Clone)]
pub struct Generator {
    state: u64,
}

/// The increment of SplitMix64's state: the golden ratio in 64-bit fixed point.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Generator {
    /// The generator of producer instance `producer` for `stream`, under `seed`.
    pub fn new(seed: u64, producer: u32, stream: Stream) -> Self {
        // `mix` is a bijection with mix(0) = 0: distinct seeds and streams
        // give unrelated states, and seed 0 of the keys leaves the index as is.
        Generator {
            state: mix(seed ^ stream.salt()) ^ u64::from(producer),
        }
    }
}

impl RngCore for Generator {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand::rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// SplitMix64's output function (a variant of MurmurHash3's finalizer).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64, producer: u32, stream: Stream) -> Vec<u64> {
        let mut generator = Generator::new(seed, producer, stream);
        (0..8).map(|_| generator.next_u64()).collect()
    }

    #[test]
    fn the_same_seed_instance_and_stream_repeat_and_any_other_differs() {
        assert_eq!(draws(7, 1, Stream::Keys), draws(7, 1, Stream::Keys));
        assert_ne!(draws(7, 1, Stream::Keys), draws(8, 1, Stream::Keys));
        assert_ne!(draws(7, 1, Stream::Keys), draws(7, 2, Stream::Keys));
        assert_ne!(draws(7, 1, Stream::Keys), draws(7, 1, Stream::Sizes));
    }

    #[test]
    fn seed_0_keys_start_from_the_instance_index_as_before_seeds_existed() {
        // SplitMix64's reference output for state 0 (Vigna's splitmix64.c).
        let mut generator = Generator::new(0, 0, Stream::Keys);
        assert_eq!(generator.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(generator.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
