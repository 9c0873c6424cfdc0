//! A latency histogram as text for the JSON report: HdrHistogram's V2 form
//! with deflate compression (as in the interval log), base64-encoded, so
//! that `loadgen merge` adds the shards' histograms exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// `histogram` as base64 of its compressed V2 encoding.
pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("a histogram serializes into memory");
    STANDARD.encode(bytes)
}

/// The histogram [`encode`] wrote.
///
/// # Errors
/// A sentence saying what is wrong with `text`.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("not an HdrHistogram V2 encoding: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Recorder;

    #[test]
    fn a_histogram_reads_back_equal() {
        let mut recorder = Recorder::new();
        for us in [1u64, 7, 1000, 123_456, 3_600_000_000] {
            recorder.record_ack(
                std::time::Duration::from_micros(us),
                std::time::Duration::ZERO,
                1,
            );
        }
        let text = encode(recorder.corrected());
        assert_eq!(&decode(&text).unwrap(), recorder.corrected());
        assert!(decode("!!").unwrap_err().starts_with("not base64"));
        assert!(decode("aGVsbG8=").is_err());
    }
}
