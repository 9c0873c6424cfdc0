//! How fault rules change the group APIs' responses: the injected error everywhere the
//! response has an error code, and `throttle_time_ms` where the version has it.
//!
//! A faulted group request never reaches the coordinator: the session answers with the
//! handler's `refused` skeleton (the request's groups, topics and partitions), and these
//! put the rule's code in.

use kafka_protocol::messages::{
    ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatResponse, DeleteGroupsResponse,
    DescribeGroupsResponse, HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse,
    ListGroupsResponse, OffsetCommitResponse, OffsetDeleteResponse, OffsetFetchResponse,
    SyncGroupResponse,
};

use super::fault_response::{FaultableResponse, throttle_field};

impl FaultableResponse for JoinGroupResponse {
    const THROTTLE_SINCE: i16 = 2;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.generation_id = -1;
        self.leader = Default::default();
        self.skip_assignment = false;
        self.members.clear();
    }
}

impl FaultableResponse for SyncGroupResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.protocol_type = None;
        self.protocol_name = None;
        self.assignment = Default::default();
    }
}

impl FaultableResponse for HeartbeatResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
    }
}

impl FaultableResponse for LeaveGroupResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.members.clear();
    }
}

impl FaultableResponse for OffsetCommitResponse {
    const THROTTLE_SINCE: i16 = 3;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
            }
        }
    }
}

impl FaultableResponse for OffsetFetchResponse {
    const THROTTLE_SINCE: i16 = 3;
    throttle_field!();
    fn set_error(&mut self, code: i16, version: i16) {
        if version >= 8 {
            for group in &mut self.groups {
                group.error_code = code;
                group.topics.clear();
            }
            return;
        }
        if version >= 2 {
            self.error_code = code;
        }
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.committed_offset = -1;
            }
        }
    }
}

impl FaultableResponse for ListGroupsResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.groups.clear();
    }
}

impl FaultableResponse for DescribeGroupsResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for group in &mut self.groups {
            group.error_code = code;
            group.members.clear();
        }
    }
}

impl FaultableResponse for DeleteGroupsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for result in &mut self.results {
            result.error_code = code;
        }
    }
}

impl FaultableResponse for OffsetDeleteResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.topics.clear();
    }
}

impl FaultableResponse for ConsumerGroupHeartbeatResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.member_epoch = -1;
        self.assignment = None;
    }
}

impl FaultableResponse for ConsumerGroupDescribeResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for group in &mut self.groups {
            group.error_code = code;
            group.members.clear();
        }
    }
}
