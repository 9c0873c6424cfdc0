//! Key hashing: how a key picks its partition (FNV-1a, the original design's `HashStringToInt32`).

use std::hash::Hasher;

use fnv::FnvHasher;

/// The 64-bit FNV-1a hash of `bytes`, as computed by the `fnv` crate.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// Hashes a key to a non-negative `i32`: FNV-1a-64 folded to 32 bits
/// (`h ^ (h >> 32)`), keeping the low 31.
///
/// This is the original design's `HashStringToInt32` helper. The fold
/// matters: FNV-1a's lowest bits are poorly mixed (its last step multiplies
/// by an odd prime, so bit 0 is the parity of the last byte), and taken
/// alone they send keys like `k0`…`k999` to only 4 of 6 partitions. Keeping
/// the result non-negative (as the Java client's `toPositive` does) makes
/// `hash % partitions` a valid partition without sign surprises.
pub fn hash_string_to_int32(key: &[u8]) -> i32 {
    let h = fnv1a_64(key);
    ((h ^ (h >> 32)) & 0x7FFF_FFFF) as i32
}

/// The partition a keyed message goes to when nobody names one.
///
/// # Panics
/// If `partitions` is 0: a topic always has at least one partition.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    assert!(partitions > 0, "a topic has at least one partition");
    hash_string_to_int32(key) as u32 % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_64_vectors() {
        // From the FNV reference test suite (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hash_is_never_negative() {
        for key in [&b""[..], b"a", b"foobar", b"\xff\xff\xff", b"key-123456"] {
            assert!(hash_string_to_int32(key) >= 0);
        }
        // 0x85944171_f73967e8 folded: 0x85944171 ^ 0xf73967e8 = 0xf2ad2699, low 31 bits.
        assert_eq!(hash_string_to_int32(b"foobar"), 0x72ad_2699);
    }

    #[test]
    fn partition_is_the_hash_modulo_the_partition_count() {
        assert_eq!(partition_for_key(b"foobar", 7), 0x72ad_2699 % 7);
        assert_eq!(partition_for_key(b"anything", 1), 0);
    }

    #[test]
    fn sequential_keys_spread_over_every_partition() {
        for partitions in [2u32, 3, 6, 7, 12, 16] {
            let mut counts = vec![0u32; partitions as usize];
            for i in 0..1000 {
                counts[partition_for_key(format!("k{i}").as_bytes(), partitions) as usize] += 1;
            }
            let fair = 1000 / partitions;
            assert!(
                counts.iter().all(|&c| c > fair / 2 && c < fair * 2),
                "{partitions} partitions: {counts:?}"
            );
        }
    }
}
