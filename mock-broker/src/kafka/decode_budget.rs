//! How many array elements (topics, partitions, groups, ids, …) decoding one request may read:
//! charged with each array's length as it is read, before the array is allocated (the vendored
//! `kafka-protocol`'s element budget, `vendor/kafka-protocol/PATCHES.md`). So a request of a few
//! megabytes listing a million partitions is refused while it is decoded, instead of being
//! decoded into structures many times its size and then refused by `max_partitions_per_request`.

use kafka_protocol::protocol::element_budget::ElementBudgetExceeded;
/// Runs a decode allowed `budget` array elements in all; past it the decode fails with an
/// [`ElementBudgetExceeded`] inside its error (see [`exceeded`]).
pub(crate) use kafka_protocol::protocol::element_budget::with_element_budget as decode_within;

/// Headroom above twice the partition limit, for the arrays a request holds besides its
/// partitions and topics (a topic's configs, replica lists, rack names).
const HEADROOM: usize = 10_000;

/// The element budget of one request when `max_partitions_per_request` is `limit`: twice the
/// limit (a request naming `limit` partitions, each in a topic of its own, holds `2 × limit`
/// elements) plus [`HEADROOM`]. Any request within the partition limit fits.
pub(crate) fn element_budget(limit: u32) -> usize {
    (limit as usize).saturating_mul(2).saturating_add(HEADROOM)
}

/// The budget a decode error ran out of, if that is why it failed.
pub(crate) fn exceeded(error: &anyhow::Error) -> Option<usize> {
    error
        .downcast_ref::<ElementBudgetExceeded>()
        .map(|e| e.budget)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    use super::*;

    fn produce(topics: usize, partitions: usize) -> BytesMut {
        let topic = |t: usize| {
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from(format!("t{t}"))))
                .with_partition_data(
                    (0..partitions)
                        .map(|p| PartitionProduceData::default().with_index(p as i32))
                        .collect(),
                )
        };
        let request = ProduceRequest::default().with_topic_data((0..topics).map(topic).collect());
        let mut buf = BytesMut::new();
        request.encode(&mut buf, 9).unwrap();
        buf
    }

    #[test]
    fn a_request_within_its_budget_decodes_and_one_beyond_is_refused_while_decoding() {
        // 3 topics of 100 partitions: 303 elements.
        let decoded = decode_within(303, || ProduceRequest::decode(&mut produce(3, 100), 9))
            .expect("within the budget");
        assert_eq!(decoded.topic_data.len(), 3);
        let error = decode_within(302, || ProduceRequest::decode(&mut produce(3, 100), 9))
            .expect_err("one element over");
        assert_eq!(exceeded(&error), Some(302));
        // A budget applies only inside its call.
        assert!(ProduceRequest::decode(&mut produce(3, 100), 9).is_ok());
    }

    #[test]
    fn an_array_length_is_charged_before_its_elements_are_read() {
        // A request cut right after its partition array's length (100 partitions claimed,
        // none there): charged at the length, it is refused for the budget; were elements
        // charged as they were read, it would fail for want of bytes instead.
        let whole = produce(1, 100);
        // One topic without partitions ends with its partitions' length, then the topic's and
        // the request's tagged fields (a byte each); the lengths of 0 and 100 partitions are
        // one byte each too.
        let cut = produce(1, 0).len() - 2;
        let mut claimed = BytesMut::from(&whole[..cut]);
        let error =
            decode_within(50, || ProduceRequest::decode(&mut claimed, 9)).expect_err("over budget");
        assert_eq!(exceeded(&error), Some(50), "{error:#}");
        let mut claimed = BytesMut::from(&whole[..cut]);
        let error = ProduceRequest::decode(&mut claimed, 9).expect_err("truncated");
        assert_eq!(exceeded(&error), None, "without a budget: {error:#}");
        assert_eq!(element_budget(100), 10_200);
        assert_eq!(element_budget(u32::MAX), 2 * u32::MAX as usize + 10_000);
    }
}
