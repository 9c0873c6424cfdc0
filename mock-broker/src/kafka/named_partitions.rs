//! How many partitions a request names, the count `max_partitions_per_request` bounds: its
//! response holds an entry for each, so a request naming millions would be answered with many
//! times its own size. Requests that name topics without partitions (CreateTopics, DeleteTopics,
//! Metadata, the config APIs' topic resources) count one per topic, plus any explicit partition
//! assignments they carry; requests that name groups or transactional ids (DescribeGroups,
//! DeleteGroups, ConsumerGroupDescribe, DescribeTransactions, a batched FindCoordinator) count
//! one per name, as their responses have an entry for each. Pure counting over the decoded
//! request; the session refuses.

use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AlterConfigsRequest, ConsumerGroupDescribeRequest,
    CreatePartitionsRequest, CreateTopicsRequest, DeleteGroupsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeConfigsRequest, DescribeGroupsRequest, DescribeProducersRequest,
    DescribeTransactionsRequest, FetchRequest, FindCoordinatorRequest,
    IncrementalAlterConfigsRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest,
    TxnOffsetCommitRequest,
};

/// A request whose response has an entry per partition (or topic) it names.
pub(crate) trait NamedPartitions {
    /// The partitions it names, over all its topics (and groups, transactions); a topic named
    /// without partitions counts one.
    fn named_partitions(&self) -> usize;
}

/// Implements [`NamedPartitions`] for requests of `topics[].partitions` shape.
macro_rules! topics_of_partitions {
    ($($request:ty => $topics:ident . $partitions:ident),* $(,)?) => {$(
        impl NamedPartitions for $request {
            fn named_partitions(&self) -> usize {
                self.$topics.iter().map(|t| t.$partitions.len()).sum()
            }
        }
    )*};
}

topics_of_partitions! {
    ProduceRequest => topic_data.partition_data,
    FetchRequest => topics.partitions,
    ListOffsetsRequest => topics.partitions,
    OffsetCommitRequest => topics.partitions,
    TxnOffsetCommitRequest => topics.partitions,
    OffsetDeleteRequest => topics.partitions,
    DeleteRecordsRequest => topics.partitions,
    OffsetForLeaderEpochRequest => topics.partitions,
    DescribeProducersRequest => topics.partition_indexes,
}

impl NamedPartitions for OffsetFetchRequest {
    fn named_partitions(&self) -> usize {
        let single = self.topics.iter().flatten();
        let grouped = self.groups.iter().flat_map(|g| g.topics.iter().flatten());
        single.map(|t| t.partition_indexes.len()).sum::<usize>()
            + grouped.map(|t| t.partition_indexes.len()).sum::<usize>()
            // A group asking for all its offsets still gets an entry.
            + self.groups.len()
    }
}

impl NamedPartitions for AddPartitionsToTxnRequest {
    fn named_partitions(&self) -> usize {
        let topics = self
            .v3_and_below_topics
            .iter()
            .chain(self.transactions.iter().flat_map(|t| t.topics.iter()));
        topics.map(|t| t.partitions.len()).sum()
    }
}

impl NamedPartitions for CreateTopicsRequest {
    fn named_partitions(&self) -> usize {
        self.topics.iter().map(|t| t.assignments.len().max(1)).sum()
    }
}

impl NamedPartitions for CreatePartitionsRequest {
    fn named_partitions(&self) -> usize {
        self.topics
            .iter()
            .map(|t| t.assignments.as_ref().map_or(1, |a| a.len().max(1)))
            .sum()
    }
}

impl NamedPartitions for DeleteTopicsRequest {
    fn named_partitions(&self) -> usize {
        self.topic_names.len() + self.topics.len()
    }
}

impl NamedPartitions for MetadataRequest {
    fn named_partitions(&self) -> usize {
        self.topics.as_ref().map_or(0, Vec::len)
    }
}

impl NamedPartitions for DescribeConfigsRequest {
    fn named_partitions(&self) -> usize {
        self.resources.len()
    }
}

impl NamedPartitions for AlterConfigsRequest {
    fn named_partitions(&self) -> usize {
        self.resources.len()
    }
}

impl NamedPartitions for IncrementalAlterConfigsRequest {
    fn named_partitions(&self) -> usize {
        self.resources.len()
    }
}

/// Implements [`NamedPartitions`] for requests that name groups or transactional ids: one each.
macro_rules! names {
    ($($request:ty => $names:ident),* $(,)?) => {$(
        impl NamedPartitions for $request {
            fn named_partitions(&self) -> usize {
                self.$names.len()
            }
        }
    )*};
}

names! {
    DescribeGroupsRequest => groups,
    DeleteGroupsRequest => groups_names,
    ConsumerGroupDescribeRequest => group_ids,
    DescribeTransactionsRequest => transactional_ids,
}

impl NamedPartitions for FindCoordinatorRequest {
    fn named_partitions(&self) -> usize {
        // v4 batches keys; earlier versions name one in `key`.
        self.coordinator_keys.len().max(1)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::list_offsets_request::ListOffsetsTopic;
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };

    use super::*;

    #[test]
    fn partitions_are_counted_over_every_topic_group_and_transaction() {
        let list = ListOffsetsRequest::default().with_topics(vec![
            ListOffsetsTopic::default().with_partitions(vec![Default::default(); 3]),
            ListOffsetsTopic::default().with_partitions(vec![Default::default(); 4]),
        ]);
        assert_eq!(list.named_partitions(), 7);

        let fetch = OffsetFetchRequest::default()
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default().with_partition_indexes(vec![0, 1]),
            ]))
            .with_groups(vec![
                OffsetFetchRequestGroup::default().with_topics(Some(vec![
                    OffsetFetchRequestTopics::default().with_partition_indexes(vec![0, 1, 2]),
                ])),
                OffsetFetchRequestGroup::default().with_topics(None),
            ]);
        assert_eq!(fetch.named_partitions(), 2 + 3 + 2);

        let txn = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_topics(vec![
                AddPartitionsToTxnTopic::default().with_partitions(vec![0, 1]),
            ])
            .with_transactions(vec![AddPartitionsToTxnTransaction::default().with_topics(
                vec![AddPartitionsToTxnTopic::default().with_partitions(vec![0; 5])],
            )]);
        assert_eq!(txn.named_partitions(), 7);

        let create = CreateTopicsRequest::default().with_topics(vec![Default::default(); 6]);
        assert_eq!(
            create.named_partitions(),
            6,
            "a topic without assignments counts one"
        );
        let delete = DeleteTopicsRequest::default()
            .with_topic_names(vec![Default::default(); 2])
            .with_topics(vec![Default::default(); 3]);
        assert_eq!(delete.named_partitions(), 5);
        assert_eq!(
            MetadataRequest::default()
                .with_topics(None)
                .named_partitions(),
            0
        );

        let groups = DescribeGroupsRequest::default().with_groups(vec![Default::default(); 4]);
        assert_eq!(groups.named_partitions(), 4, "one per group");
        let ids = DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![Default::default(); 9]);
        assert_eq!(ids.named_partitions(), 9, "one per transactional id");
        assert_eq!(FindCoordinatorRequest::default().named_partitions(), 1);
        assert_eq!(
            FindCoordinatorRequest::default()
                .with_coordinator_keys(vec![Default::default(); 3])
                .named_partitions(),
            3
        );
    }
}
