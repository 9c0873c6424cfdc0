//! Key hashing: how a key picks its partition, by FNV-1a (the original design's
//! `HashStringToInt32`, the project's default and the mock broker's) or by murmur2 (the Java
//! client's).

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

/// Murmur2 as Kafka's Java client computes it (`Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h = SEED ^ length as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() == 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The Java client's partition for a keyed record: `toPositive(murmur2(key)) % partitions`.
///
/// # Panics
/// If `partitions` is 0.
pub fn murmur2_partition(key: &[u8], partitions: u32) -> u32 {
    assert!(partitions > 0, "a topic has at least one partition");
    (murmur2(key) & 0x7FFF_FFFF) as u32 % partitions
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

    #[test]
    fn murmur2_matches_the_java_clients_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58_897_971
        );
        assert_eq!(murmur2(b"abc"), 479_470_107);
    }
}
