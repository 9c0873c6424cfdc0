//! Frame protocol Produce: turns a decoded produce frame into recorded messages and the response.
//!
//! Pure with respect to I/O: the session hands a request in and writes the
//! response out. A request is recorded whole or not at all: every check runs
//! before the first append.

use std::sync::Arc;

use protocol::frame::{PartitionRun, ProduceRequest, ProduceResponse, Status};
use protocol::key_hash::partition_for_key;
use protocol::topic_name::validate_topic_name;

use crate::stats::Stats;
use crate::store::{ClientInfo, NewRecord, RecordStore, StoreError};

/// The limits a frame's messages are checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageLimits {
    pub(crate) max_message_bytes: u32,
}

/// Records the request's messages and says where they went, or why not.
pub(crate) fn handle(
    request: ProduceRequest,
    client: &Arc<ClientInfo>,
    store: &RecordStore,
    stats: &Stats,
    limits: MessageLimits,
    receive_time: i64,
) -> ProduceResponse {
    let id = request.correlation_id;
    if let Err(reason) = validate_topic_name(&request.topic) {
        return ProduceResponse::error(id, Status::InvalidTopicName, reason.to_string());
    }
    let mut bytes = 0;
    let mut keyless = 0u32;
    for (i, message) in request.messages.iter().enumerate() {
        let size = message.encoded_len();
        bytes += size;
        keyless += u32::from(message.key.is_none());
        if size > limits.max_message_bytes as usize {
            return ProduceResponse::error(
                id,
                Status::MessageTooLarge,
                format!(
                    "message {i} is {size} bytes; max_message_bytes is {}",
                    limits.max_message_bytes
                ),
            );
        }
    }
    let topic = match store.topic_for_write(&request.topic) {
        Ok(topic) => topic,
        Err(e) => {
            return ProduceResponse::error(id, Status::UnknownTopicOrPartition, e.to_string());
        }
    };
    let partitions = topic.partition_count();
    if let Some(p) = request.partition
        && p >= partitions
    {
        let e = StoreError::UnknownPartition {
            topic: request.topic,
            partition: p,
            partitions,
        };
        return ProduceResponse::error(id, Status::UnknownTopicOrPartition, e.to_string());
    }

    // Keyless messages take the topic's next places in its round-robin order, in request order.
    let mut round_robin = match request.partition {
        None if keyless > 0 => topic.take_round_robin(keyless),
        _ => 0,
    };
    let chosen: Vec<u32> = request
        .messages
        .iter()
        .map(|m| match (request.partition, &m.key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => {
                let p = round_robin % partitions;
                round_robin = round_robin.wrapping_add(1);
                p
            }
        })
        .collect();

    // Append each partition's share at once, keeping request order within it.
    let mut by_partition: Vec<Vec<NewRecord>> = vec![Vec::new(); partitions as usize];
    let count = request.messages.len() as u64;
    for (message, &p) in request.messages.into_iter().zip(&chosen) {
        by_partition[p as usize].push(NewRecord {
            timestamp: message.timestamp,
            key: message.key,
            value: Some(message.value),
            headers: message.headers,
            producer: None,
        });
    }
    let groups: Vec<(u32, Vec<NewRecord>)> = by_partition
        .into_iter()
        .enumerate()
        .filter(|(_, records)| !records.is_empty())
        .map(|(p, records)| (p as u32, records))
        .collect();
    let partitions_used: Vec<u32> = groups.iter().map(|(p, _)| *p).collect();
    let mut next_offset = vec![0i64; partitions as usize];
    match topic.append_groups(groups, receive_time, client) {
        Ok(bases) => {
            for (p, base) in partitions_used.into_iter().zip(bases) {
                next_offset[p as usize] = base;
            }
        }
        // The whole request is refused: nothing of it was recorded.
        Err(StoreError::Sink(reason)) => {
            return ProduceResponse::error(
                id,
                Status::InternalError,
                format!("cannot record: {reason}"),
            );
        }
        // Retriable: the producer tries again later, as after a Kafka storage error.
        Err(e @ StoreError::MemoryFull { .. }) => {
            return ProduceResponse::error(id, Status::BrokerBusy, e.to_string());
        }
        Err(e) => return ProduceResponse::error(id, Status::InternalError, e.to_string()),
    }
    stats.recorded(topic.name(), count, bytes as u64);

    let mut runs: Vec<PartitionRun> = Vec::new();
    for &p in &chosen {
        let offset = next_offset[p as usize];
        next_offset[p as usize] += 1;
        match runs.last_mut() {
            Some(run) if run.partition == p && run.base_offset + i64::from(run.count) == offset => {
                run.count += 1;
            }
            _ => runs.push(PartitionRun {
                partition: p,
                base_offset: offset,
                count: 1,
            }),
        }
    }
    ProduceResponse::ok(id, runs)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use protocol::frame::{FrameAcks, Message};

    use super::*;
    use crate::store::Protocol;

    fn client() -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Frame,
            client_id: Some("test".into()),
        })
    }

    fn request(
        topic: &str,
        partition: Option<u32>,
        keys: &[Option<&'static str>],
    ) -> ProduceRequest {
        ProduceRequest {
            correlation_id: 9,
            acks: FrameAcks::Recorded,
            client_id: "test".into(),
            topic: topic.into(),
            partition,
            messages: keys
                .iter()
                .map(|k| Message {
                    timestamp: None,
                    key: k.map(|k| Bytes::from_static(k.as_bytes())),
                    value: Bytes::from_static(b"v"),
                    headers: vec![],
                })
                .collect(),
        }
    }

    const LIMITS: MessageLimits = MessageLimits {
        max_message_bytes: 100,
    };

    #[test]
    fn keyless_messages_round_robin_and_runs_follow_request_order() {
        let store = RecordStore::new(3, true);
        let response = handle(
            request("t", None, &[None; 4]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        assert_eq!(response.status, Status::Ok);
        let placements: Vec<_> = response.placements().collect();
        assert_eq!(placements, vec![(0, 0), (1, 0), (2, 0), (0, 1)]);
    }

    #[test]
    fn a_batch_for_one_partition_is_one_run() {
        let store = RecordStore::new(3, true);
        handle(
            request("t", Some(1), &[None]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        let response = handle(
            request("t", Some(1), &[None; 5]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        assert_eq!(
            response.runs,
            vec![PartitionRun {
                partition: 1,
                base_offset: 1,
                count: 5
            }]
        );
    }

    #[test]
    fn keyed_messages_go_where_fnv1a_says() {
        let store = RecordStore::new(5, true);
        let keys = [Some("alpha"), Some("beta"), Some("gamma")];
        let response = handle(
            request("t", None, &keys),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        for ((partition, _), key) in response.placements().zip(keys) {
            assert_eq!(partition, partition_for_key(key.unwrap().as_bytes(), 5));
        }
    }

    #[test]
    fn an_oversized_message_rejects_the_whole_request() {
        let store = RecordStore::new(1, true);
        let mut req = request("t", None, &[None, None]);
        req.messages[1].value = Bytes::from(vec![0u8; 200]);
        let response = handle(req, &client(), &store, &Stats::default(), LIMITS, 1);
        assert_eq!(response.status, Status::MessageTooLarge);
        assert!(
            response.error_message.contains("message 1 is 218 bytes"),
            "{}",
            response.error_message
        );
        assert_eq!(store.record_count(), 0);
    }

    #[test]
    fn invalid_topic_unknown_topic_and_unknown_partition_are_refused() {
        let store = RecordStore::new(2, false);
        let bad = handle(
            request("a b", None, &[None]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        assert_eq!(bad.status, Status::InvalidTopicName);
        let unknown = handle(
            request("nope", None, &[None]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        assert_eq!(unknown.status, Status::UnknownTopicOrPartition);
        store.create_topic("t", 2);
        let beyond = handle(
            request("t", Some(2), &[None]),
            &client(),
            &store,
            &Stats::default(),
            LIMITS,
            1,
        );
        assert_eq!(beyond.status, Status::UnknownTopicOrPartition);
        assert!(beyond.error_message.contains("no partition 2"));
        assert_eq!(store.record_count(), 0);
    }
}
