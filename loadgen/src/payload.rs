//! What each message carries: a unique id at the start of its value, filler,
//! and the key and headers the workload asks for.
//!
//! The id ([`crate::message_id`]) lets the delivery audit ([`crate::audit`])
//! tell exactly which messages a broker recorded. Value layout (all integers big-endian):
//!
//! | bytes  | field                                  |
//! |--------|----------------------------------------|
//! | 0..4   | producer instance index (u32)          |
//! | 4..12  | sequence number within that instance (u64), from 0, never reused across phases |
//! | 12..16 | reserved, written as zero              |
//! | 16..   | filler (`.`) up to the value's size    |
//!
//! The value's size comes from [`crate::value_size`].

use bytes::{BufMut, Bytes, BytesMut};
use producer::Header;
use rand::RngCore;
use rand_distr::{Distribution, Zipf};

use crate::message_id::{ID_LEN, MessageId};
use crate::random::{Generator, Stream};
use crate::scenario::Keys;

/// Builds values, carving them out of shared chunks so that a message costs
/// no allocation of its own. A chunk is filled with filler when it is
/// allocated, so a value costs only the writing of its id.
#[derive(Debug, Default)]
pub struct ValueBuilder {
    /// The rest of the current chunk, all filler.
    chunk: BytesMut,
}

/// Values are carved from chunks of at least this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;
const FILLER: u8 = b'.';

impl ValueBuilder {
    /// A builder that has not allocated yet.
    pub fn new() -> Self {
        ValueBuilder::default()
    }

    /// The value of `size` bytes for message `id`: the id, then filler.
    ///
    /// # Panics
    /// If `size` is smaller than [`ID_LEN`]; the scenario rejects such sizes.
    pub fn value(&mut self, id: MessageId, size: usize) -> Bytes {
        assert!(
            size >= ID_LEN,
            "a value holds at least its {ID_LEN}-byte id"
        );
        if self.chunk.len() < size {
            let bytes = size.max(CHUNK_BYTES);
            self.chunk = BytesMut::with_capacity(bytes);
            self.chunk.put_bytes(FILLER, bytes);
        }
        let mut value = self.chunk.split_to(size);
        id.write(&mut &mut value[..ID_LEN]);
        value.freeze()
    }
}

/// Picks each message's key, as `workload.keys` says.
#[derive(Debug, Clone)]
pub struct KeyPicker {
    pick: Pick,
    rng: Generator,
}

/// `workload.keys` ready to draw from.
#[derive(Debug, Clone)]
enum Pick {
    None,
    Sequential(u64),
    Uniform(u64),
    /// The sampler is built once: its set-up takes a `powf`.
    Zipf(Zipf<f64>, u64),
}

impl KeyPicker {
    /// A picker for producer instance `producer`; uniform and zipf keys are
    /// drawn from a generator seeded with `seed` and the instance index, so runs repeat.
    ///
    /// # Panics
    /// If a zipf exponent is negative or not a number; the scenario rejects them.
    pub fn new(keys: Keys, seed: u64, producer: u32) -> Self {
        let pick = match keys {
            Keys::None => Pick::None,
            Keys::Sequential { count } => Pick::Sequential(count),
            Keys::Uniform { count } => Pick::Uniform(count),
            Keys::Zipf { count, exponent } => Pick::Zipf(
                Zipf::new(count as f64, exponent).expect("count >= 1 and exponent > 0"),
                count,
            ),
        };
        KeyPicker {
            pick,
            rng: Generator::new(seed, producer, Stream::Keys),
        }
    }

    /// The key of the instance's message `sequence`: `key-<n>` with `n` below `count`.
    pub fn key(&mut self, sequence: u64) -> Option<Bytes> {
        let n = match &self.pick {
            Pick::None => return None,
            Pick::Sequential(count) => sequence % count,
            Pick::Uniform(count) => self.rng.next_u64() % count,
            // Zipf draws ranks 1..=count as floats; rank 1 is key 0.
            Pick::Zipf(zipf, count) => (zipf.sample(&mut self.rng) as u64).clamp(1, *count) - 1,
        };
        Some(Bytes::from(format!("key-{n}")))
    }
}

/// The headers every message carries: `h0` = `v0`, `h1` = `v1`, …
pub fn headers(count: u32) -> Vec<Header> {
    (0..count)
        .map(|i| Header {
            key: format!("h{i}"),
            value: Some(Bytes::from(format!("v{i}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn values_have_the_size_asked_and_their_id_parses_back() {
        let mut builder = ValueBuilder::new();
        let mut seen = HashSet::new();
        for producer in [0, 1, u32::MAX] {
            for sequence in [0, 1, 2, 1 << 40, u64::MAX] {
                let id = MessageId { producer, sequence };
                let value = builder.value(id, 100);
                assert_eq!(value.len(), 100);
                assert_eq!(MessageId::parse(&value), Some(id));
                assert_eq!(&value[12..16], &[0, 0, 0, 0], "reserved bytes are zero");
                assert!(value[16..].iter().all(|&b| b == FILLER));
                assert!(seen.insert(value[..ID_LEN].to_vec()), "ids are unique");
            }
        }
    }

    #[test]
    fn a_value_of_exactly_the_id_size_has_no_filler_and_a_short_one_has_no_id() {
        let value = ValueBuilder::new().value(
            MessageId {
                producer: 7,
                sequence: 9,
            },
            ID_LEN,
        );
        assert_eq!(value.len(), ID_LEN);
        assert_eq!(MessageId::parse(&value[..ID_LEN - 1]), None);
    }

    #[test]
    fn many_values_of_many_sizes_from_one_builder_stay_intact() {
        let mut builder = ValueBuilder::new();
        let size = |sequence: u64| 16 + (sequence as usize * 7919) % 100_000;
        let values: Vec<Bytes> = (0..500)
            .map(|sequence| {
                let id = MessageId {
                    producer: 3,
                    sequence,
                };
                builder.value(id, size(sequence))
            })
            .collect();
        for (sequence, value) in (0..).zip(&values) {
            assert_eq!(MessageId::parse(value).unwrap().sequence, sequence);
            assert_eq!(value.len(), size(sequence));
            assert!(value[ID_LEN..].iter().all(|&b| b == FILLER));
        }
    }

    #[test]
    fn keys_follow_the_workload() {
        let mut none = KeyPicker::new(Keys::None, 0, 0);
        assert_eq!(none.key(5), None);

        let mut sequential = KeyPicker::new(Keys::Sequential { count: 3 }, 0, 0);
        let keys: Vec<_> = (0..5).map(|s| sequential.key(s).unwrap()).collect();
        assert_eq!(keys, ["key-0", "key-1", "key-2", "key-0", "key-1"]);

        let mut uniform = KeyPicker::new(Keys::Uniform { count: 10 }, 0, 1);
        let drawn: HashSet<_> = (0..1000).map(|s| uniform.key(s).unwrap()).collect();
        assert_eq!(
            drawn.len(),
            10,
            "all 10 keys appear in 1000 draws: {drawn:?}"
        );
    }

    fn keys(keys: Keys, seed: u64, producer: u32, n: u64) -> Vec<Bytes> {
        let mut picker = KeyPicker::new(keys, seed, producer);
        (0..n).map(|s| picker.key(s).unwrap()).collect()
    }

    #[test]
    fn random_keys_repeat_per_seed_and_instance() {
        for kind in [
            Keys::Uniform { count: 1000 },
            Keys::Zipf {
                count: 1000,
                exponent: 0.5,
            },
        ] {
            assert_eq!(keys(kind, 0, 1, 50), keys(kind, 0, 1, 50), "{kind:?}");
            assert_ne!(keys(kind, 0, 1, 50), keys(kind, 0, 2, 50), "{kind:?}");
            assert_ne!(keys(kind, 0, 1, 50), keys(kind, 9, 1, 50), "{kind:?}");
        }
    }

    #[test]
    fn uniform_keys_under_seed_0_are_those_drawn_before_seeds_existed() {
        let drawn = keys(Keys::Uniform { count: 10 }, 0, 1, 8);
        assert_eq!(
            drawn,
            [
                "key-5", "key-9", "key-0", "key-5", "key-1", "key-8", "key-5", "key-3"
            ]
        );
    }

    #[test]
    fn zipf_keys_fall_off_with_rank_as_the_exponent_says() {
        let counts = |exponent: f64| {
            let mut counts = vec![0u32; 100];
            for key in keys(
                Keys::Zipf {
                    count: 100,
                    exponent,
                },
                0,
                0,
                100_000,
            ) {
                let n: usize = std::str::from_utf8(&key[4..]).unwrap().parse().unwrap();
                counts[n] += 1;
            }
            counts
        };
        let classic = counts(1.0);
        // With exponent 1, key n is drawn in proportion to 1 / (n + 1), and
        // 1 / H(100) = 19.3% of draws are key 0.
        assert!((18_800..19_800).contains(&classic[0]), "{}", classic[0]);
        let ratio = f64::from(classic[0]) / f64::from(classic[1]);
        assert!((1.9..2.1).contains(&ratio), "key 0 : key 1 = {ratio}");
        let ratio = f64::from(classic[0]) / f64::from(classic[9]);
        assert!((9.0..11.0).contains(&ratio), "key 0 : key 9 = {ratio}");
        // A steeper exponent concentrates draws on the first keys.
        let steep = counts(2.0);
        assert!(
            steep[0] > 55_000 && steep[99] < 20,
            "{} {}",
            steep[0],
            steep[99]
        );
        assert!(classic.iter().all(|&c| c > 0), "every key is drawn");
    }

    #[test]
    fn headers_are_numbered() {
        let headers = headers(2);
        assert_eq!(headers[0].key, "h0");
        assert_eq!(headers[1].value.as_deref(), Some(&b"v1"[..]));
        assert!(super::headers(0).is_empty());
    }
}
