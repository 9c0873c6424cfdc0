//! How fault rules change the transaction APIs' responses: the injected error everywhere
//! the response has an error code, and `throttle_time_ms` (every version has it).
//!
//! A faulted transaction request never reaches the coordinator: the session answers with
//! the handler's `refused` skeleton, and these put the rule's code in.

use kafka_protocol::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, DescribeTransactionsResponse,
    EndTxnResponse, ListTransactionsResponse, TxnOffsetCommitResponse,
};

use super::fault_response::{FaultableResponse, throttle_field};

impl FaultableResponse for AddPartitionsToTxnResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, version: i16) {
        if version >= 4 {
            self.error_code = code;
        }
        let topics = self.results_by_topic_v3_and_below.iter_mut().chain(
            self.results_by_transaction
                .iter_mut()
                .flat_map(|t| t.topic_results.iter_mut()),
        );
        for topic in topics {
            for partition in &mut topic.results_by_partition {
                partition.partition_error_code = code;
            }
        }
    }
}

impl FaultableResponse for AddOffsetsToTxnResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
    }
}

impl FaultableResponse for TxnOffsetCommitResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
            }
        }
    }
}

impl FaultableResponse for EndTxnResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.producer_id = (-1).into();
        self.producer_epoch = -1;
    }
}

impl FaultableResponse for DescribeTransactionsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for state in &mut self.transaction_states {
            state.error_code = code;
            state.topics.clear();
        }
    }
}

impl FaultableResponse for ListTransactionsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.transaction_states.clear();
    }
}
