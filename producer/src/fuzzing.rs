//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), kept in ordinary code so that
//! `cargo test` on stable replays their committed corpus (`fuzz/corpus/`) through the very same
//! functions. Not part of the crate's API.
//!
//! [`responses`] never panics on any input; a panic is a bug the fuzzer found in how the producer
//! reads what a broker answers.

use bytes::BytesMut;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, InitProducerIdRequest, MetadataRequest, ProduceRequest,
};

use crate::kafka::broker_connection::{self, MAX_RESPONSE_BYTES, SPOKEN};
use crate::kafka::produce_request;
use crate::wire::{FrameResponse, FrameWire, KafkaWire, Wire};

/// What a broker sends back on one connection, read as the producer reads it.
///
/// The first byte chooses the protocol: even, the frame protocol, the second byte then being the
/// number of messages the batch in flight holds, each produce-response frame placing them (or
/// not); odd, Kafka, `first / 2` choosing the API and version the responses answer among every
/// version the producer speaks (ApiVersions, Metadata, Produce, InitProducerId). The rest is the
/// bytes: split into responses by the protocol's wire, each decoded as the producer decodes it.
///
/// # Panics
/// Only on a bug in the producer's response reading.
pub fn responses(data: &[u8]) {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let Some((&expected, data)) = data.split_first() else {
            return;
        };
        frame_responses(data, usize::from(expected));
    } else {
        let versions = spoken_versions();
        let (key, version) = versions[usize::from(selector / 2) % versions.len()];
        kafka_responses(data, key, version);
    }
}

fn frame_responses(data: &[u8], expected: usize) {
    let mut buffer = BytesMut::from(data);
    while let Ok(Some((_, response))) = FrameWire::parse(&mut buffer, MAX_RESPONSE_BYTES) {
        let FrameResponse::Produce(response) = response else {
            continue;
        };
        if let Ok(places) = crate::sender::placements(&response, expected) {
            assert_eq!(places.len(), expected);
        }
    }
}

fn kafka_responses(data: &[u8], key: ApiKey, version: i16) {
    let mut buffer = BytesMut::from(data);
    while let Ok(Some((_, raw))) = KafkaWire::parse(&mut buffer, MAX_RESPONSE_BYTES) {
        match key {
            ApiKey::ApiVersions => {
                if let Ok(response) =
                    broker_connection::decode_response::<ApiVersionsRequest>(raw, version)
                {
                    let _ = broker_connection::negotiate(&response, "fuzz:9092");
                }
            }
            ApiKey::Metadata => {
                let _ = broker_connection::decode_response::<MetadataRequest>(raw, version);
            }
            ApiKey::Produce => {
                let _ = broker_connection::decode_response::<ProduceRequest>(raw, version);
            }
            _ => {
                let _ = broker_connection::decode_response::<InitProducerIdRequest>(raw, version);
            }
        }
    }
}

/// Every (API, version) whose response the producer may have to read, in the order the first
/// byte of a [`responses`] input chooses them (`2 * index + 1`).
pub fn spoken_versions() -> Vec<(ApiKey, i16)> {
    SPOKEN
        .iter()
        .flat_map(|&(key, min, max)| {
            let max = match key {
                ApiKey::Produce => max.min(produce_request::MAX_VERSION),
                _ => max,
            };
            (min..=max).map(move |version| (key, version))
        })
        .collect()
}
