//! The compression codecs a Kafka RecordBatch v2 can be written with, as
//! configured (`compression.type`) and as named in a batch's attributes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The compression codecs of RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// Snappy (Kafka's framing, as the Java client writes it).
    Snappy,
    /// LZ4 frames.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec's id in a batch's attributes.
    pub fn attribute(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Parses `none`, `gzip`, `snappy`, `lz4` or `zstd` (Kafka's `compression.type` values).
    ///
    /// # Errors
    /// A sentence naming the value and what is allowed.
    pub fn parse(text: &str) -> Result<Compression, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "snappy" => Ok(Compression::Snappy),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "invalid compression {other:?}: expected none, gzip, snappy, lz4 or zstd"
            )),
        }
    }
}

/// A codec failed to compress a batch's records.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{codec} compression failed: {reason}")]
pub struct CompressionError {
    /// The codec that failed.
    pub codec: Compression,
    /// The codec's own explanation.
    pub reason: String,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_names_parse_and_print() {
        for name in ["none", "gzip", "snappy", "lz4", "zstd"] {
            assert_eq!(Compression::parse(name).unwrap().to_string(), name);
        }
        assert!(
            Compression::parse("brotli")
                .unwrap_err()
                .contains("\"brotli\"")
        );
    }
}
