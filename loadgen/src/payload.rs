//! What each message carries: a unique id at the start of its value, filler,
//! and the key and headers the workload asks for.
//!
//! The id lets the delivery audit ([`crate::audit`]) tell exactly which messages a broker
//! recorded. Value layout (all integers big-endian):
//!
//! | bytes  | field                                  |
//! |--------|----------------------------------------|
//! | 0..4   | producer instance index (u32)          |
//! | 4..12  | sequence number within that instance (u64), from 0, never reused across phases |
//! | 12..16 | reserved, written as zero              |
//! | 16..   | filler (`.`) up to `message_size`      |

use bytes::{BufMut, Bytes, BytesMut};
use producer::Header;

use crate::scenario::Keys;

/// Bytes of the id at the start of every value.
pub const ID_LEN: usize = 16;

/// Identifies one message of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    /// The producer instance that sent it.
    pub producer: u32,
    /// Its position in that instance's messages, counting from 0.
    pub sequence: u64,
}

impl MessageId {
    /// Writes the 16-byte id.
    pub fn write(self, dst: &mut impl BufMut) {
        dst.put_u32(self.producer);
        dst.put_u64(self.sequence);
        dst.put_u32(0);
    }

    /// Reads the id back from the start of a value; `None` when it is shorter than [`ID_LEN`].
    pub fn parse(value: &[u8]) -> Option<MessageId> {
        let id = value.get(..ID_LEN)?;
        Some(MessageId {
            producer: u32::from_be_bytes(id[0..4].try_into().ok()?),
            sequence: u64::from_be_bytes(id[4..12].try_into().ok()?),
        })
    }
}

/// Builds values of one size, carving them out of shared chunks so that a
/// message costs no allocation of its own.
#[derive(Debug)]
pub struct ValueBuilder {
    size: usize,
    chunk: BytesMut,
}

/// Values are carved from chunks of at least this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;
const FILLER: u8 = b'.';

impl ValueBuilder {
    /// Builds values of `size` bytes.
    ///
    /// # Panics
    /// If `size` is smaller than [`ID_LEN`]; the scenario rejects such sizes.
    pub fn new(size: usize) -> Self {
        assert!(
            size >= ID_LEN,
            "a value holds at least its {ID_LEN}-byte id"
        );
        ValueBuilder {
            size,
            chunk: BytesMut::new(),
        }
    }

    /// The value for message `id`: the id, then filler.
    pub fn value(&mut self, id: MessageId) -> Bytes {
        if self.chunk.capacity() < self.size {
            self.chunk = BytesMut::with_capacity(self.size.max(CHUNK_BYTES));
        }
        id.write(&mut self.chunk);
        self.chunk.put_bytes(FILLER, self.size - ID_LEN);
        self.chunk.split().freeze()
    }
}

/// Picks each message's key, as `workload.keys` says.
#[derive(Debug, Clone)]
pub struct KeyPicker {
    keys: Keys,
    rng: SplitMix64,
}

impl KeyPicker {
    /// A picker for producer instance `producer`; uniform keys are drawn from
    /// a generator seeded with the instance index, so runs repeat.
    pub fn new(keys: Keys, producer: u32) -> Self {
        KeyPicker {
            keys,
            rng: SplitMix64(u64::from(producer)),
        }
    }

    /// The key of the instance's message `sequence`: `key-<n>` with `n` below `count`.
    pub fn key(&mut self, sequence: u64) -> Option<Bytes> {
        let n = match self.keys {
            Keys::None => return None,
            Keys::Sequential { count } => sequence % count,
            Keys::Uniform { count } => self.rng.next() % count,
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

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64);
/// good enough to spread keys, and needs no dependency.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn values_have_the_size_asked_and_their_id_parses_back() {
        let mut builder = ValueBuilder::new(100);
        let mut seen = HashSet::new();
        for producer in [0, 1, u32::MAX] {
            for sequence in [0, 1, 2, 1 << 40, u64::MAX] {
                let id = MessageId { producer, sequence };
                let value = builder.value(id);
                assert_eq!(value.len(), 100);
                assert_eq!(MessageId::parse(&value), Some(id));
                assert_eq!(&value[12..16], &[0, 0, 0, 0], "reserved bytes are zero");
                assert!(value[16..].iter().all(|&b| b == FILLER));
                assert!(seen.insert(value[..ID_LEN].to_vec()), "ids are unique");
            }
        }
    }

    #[test]
    fn the_id_layout_is_big_endian_producer_then_sequence() {
        let mut buf = Vec::new();
        MessageId {
            producer: 0x0102_0304,
            sequence: 0x0506_0708_090A_0B0C,
        }
        .write(&mut buf);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]);
    }

    #[test]
    fn a_value_of_exactly_the_id_size_has_no_filler_and_a_short_one_has_no_id() {
        let value = ValueBuilder::new(ID_LEN).value(MessageId {
            producer: 7,
            sequence: 9,
        });
        assert_eq!(value.len(), ID_LEN);
        assert_eq!(MessageId::parse(&value[..ID_LEN - 1]), None);
    }

    #[test]
    fn many_values_from_one_builder_stay_intact() {
        let mut builder = ValueBuilder::new(1000);
        let values: Vec<Bytes> = (0..500)
            .map(|sequence| {
                builder.value(MessageId {
                    producer: 3,
                    sequence,
                })
            })
            .collect();
        for (sequence, value) in values.iter().enumerate() {
            assert_eq!(MessageId::parse(value).unwrap().sequence, sequence as u64);
        }
    }

    #[test]
    fn keys_follow_the_workload() {
        let mut none = KeyPicker::new(Keys::None, 0);
        assert_eq!(none.key(5), None);

        let mut sequential = KeyPicker::new(Keys::Sequential { count: 3 }, 0);
        let keys: Vec<_> = (0..5).map(|s| sequential.key(s).unwrap()).collect();
        assert_eq!(keys, ["key-0", "key-1", "key-2", "key-0", "key-1"]);

        let mut uniform = KeyPicker::new(Keys::Uniform { count: 10 }, 1);
        let drawn: HashSet<_> = (0..1000).map(|s| uniform.key(s).unwrap()).collect();
        assert_eq!(
            drawn.len(),
            10,
            "all 10 keys appear in 1000 draws: {drawn:?}"
        );
        let mut again = KeyPicker::new(Keys::Uniform { count: 10 }, 1);
        let mut first = KeyPicker::new(Keys::Uniform { count: 10 }, 1);
        assert_eq!(again.key(0), first.key(0), "same seed, same keys");
    }

    #[test]
    fn headers_are_numbered() {
        let headers = headers(2);
        assert_eq!(headers[0].key, "h0");
        assert_eq!(headers[1].value.as_deref(), Some(&b"v1"[..]));
        assert!(super::headers(0).is_empty());
    }
}
