//! ConsumerGroupHeartbeat on one consumer-protocol group (KIP-848, Kafka's
//! `GroupMetadataManager.consumerGroupHeartbeat`): a member joins with epoch 0, heartbeats
//! with its epoch, and leaves with -1 (or -2, a static member leaving for a while). Each
//! heartbeat may bump the group epoch (membership, subscriptions or partition counts
//! changed), recompute the target assignment, and move the member one reconciliation
//! step toward its target.

use kafka_protocol::ResponseError;

use super::assignment::Assignment;
use super::assignor::Assignor;
use super::consumer_group::ConsumerGroup;
use super::consumer_member::{ConsumerMember, MemberState};
use super::group_config::GroupConfig;
use super::reconciliation::reconcile;

/// The member epoch that leaves the group.
pub(crate) const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// The member epoch a static member leaves with when it will come back.
pub(crate) const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

/// A ConsumerGroupHeartbeat request, topics by name (the handler maps topic ids).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ConsumerHeartbeatRequest {
    /// The group.
    pub(crate) group_id: String,
    /// The member id (the client's; the handler generates one for v0 joins without it).
    pub(crate) member_id: String,
    /// 0 to join, the current epoch to heartbeat, -1 to leave, -2 for a static member's
    /// temporary leave.
    pub(crate) member_epoch: i32,
    /// `group.instance.id`, or `None` if not static or unchanged.
    pub(crate) instance_id: Option<String>,
    /// `client.rack`, or `None` if unchanged.
    pub(crate) rack_id: Option<String>,
    /// -1 if unchanged.
    pub(crate) rebalance_timeout_ms: i32,
    /// `None` if unchanged.
    pub(crate) subscribed_topic_names: Option<Vec<String>>,
    /// `None` if unchanged; the broker does not resolve regexes: a non-empty one is
    /// refused with INVALID_REQUEST ("" means none, as librdkafka sends it).
    pub(crate) subscribed_topic_regex: Option<String>,
    /// `None` if unchanged or not set.
    pub(crate) server_assignor: Option<String>,
    /// The partitions the member owns, `None` if unchanged.
    pub(crate) owned: Option<Assignment>,
    /// The connection's client id.
    pub(crate) client_id: String,
    /// The connection's host (`/127.0.0.1`).
    pub(crate) client_host: String,
}

/// A successful ConsumerGroupHeartbeat answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsumerHeartbeatResponse {
    /// The member id.
    pub(crate) member_id: String,
    /// The member's epoch now (-1 or -2 after leaving).
    pub(crate) member_epoch: i32,
    /// How soon the member should heartbeat again.
    pub(crate) heartbeat_interval_ms: i32,
    /// The partitions it may own, when it joined, sent a full request, or they changed.
    pub(crate) assignment: Option<Assignment>,
}

/// A refused request: the error and Kafka's kind of message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupError {
    /// The error code.
    pub(crate) error: ResponseError,
    /// What was wrong, for the response's error message.
    pub(crate) message: String,
}

impl GroupError {
    /// `error` saying `message`.
    pub(crate) fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
        }
    }
}

/// Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`.
///
/// # Errors
/// INVALID_REQUEST or UNSUPPORTED_ASSIGNOR, saying why.
pub(crate) fn validate(request: &ConsumerHeartbeatRequest) -> Result<(), GroupError> {
    let invalid = |message: &str| Err(GroupError::new(ResponseError::InvalidRequest, message));
    if request.group_id.is_empty() {
        return invalid("GroupId can't be empty.");
    }
    if request.member_id.is_empty() {
        return invalid("MemberId can't be empty.");
    }
    if request.instance_id.as_deref() == Some("") {
        return invalid("InstanceId can't be empty.");
    }
    if request.rack_id.as_deref() == Some("") {
        return invalid("RackId can't be empty.");
    }
    // librdkafka sends "" for "no regex", which Kafka takes as subscribing to nothing.
    if request
        .subscribed_topic_regex
        .as_deref()
        .is_some_and(|regex| !regex.is_empty())
    {
        return invalid(
            "SubscribedTopicRegex is not supported by mock-broker: subscribe to topic names.",
        );
    }
    match request.member_epoch {
        0 => {
            if request.rebalance_timeout_ms == -1 {
                return invalid("RebalanceTimeoutMs must be provided in first request.");
            }
            if request.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                return invalid("TopicPartitions must be empty when (re-)joining.");
            }
            if request.subscribed_topic_names.is_none() && request.subscribed_topic_regex.is_none()
            {
                return invalid(
                    "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
                );
            }
        }
        LEAVE_GROUP_STATIC_MEMBER_EPOCH if request.instance_id.is_none() => {
            return invalid("InstanceId can't be null.");
        }
        epoch if epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH => {
            return invalid("MemberEpoch is invalid.");
        }
        _ => {}
    }
    if let Some(name) = &request.server_assignor
        && Assignor::from_name(name).is_none()
    {
        return Err(GroupError::new(
            ResponseError::UnsupportedAssignor,
            format!(
                "ServerAssignor {name} is not supported. Supported assignors: {}.",
                Assignor::NAMES
            ),
        ));
    }
    Ok(())
}

fn unknown_member(message: String) -> GroupError {
    GroupError::new(ResponseError::UnknownMemberId, message)
}

impl ConsumerGroup {
    /// Serves a (validated) ConsumerGroupHeartbeat; `partition_count` gives the partition
    /// count of a topic that exists.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID
    /// as Kafka.
    pub(crate) fn heartbeat(
        &mut self,
        request: &ConsumerHeartbeatRequest,
        config: &GroupConfig,
        partition_count: &dyn Fn(&str) -> Option<u32>,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let leaving = request.member_epoch == LEAVE_GROUP_MEMBER_EPOCH
            || request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH;
        let result = if leaving {
            self.leave(request)
        } else {
            self.beat(request, config, partition_count, now_ms)
        };
        self.note_state(now_ms);
        result
    }

    /// The member the heartbeat speaks for, as it was (a new one when joining).
    fn member_for(
        &mut self,
        request: &ConsumerHeartbeatRequest,
    ) -> Result<ConsumerMember, GroupError> {
        let joining = request.member_epoch == 0;
        let Some(instance_id) = request.instance_id.as_deref() else {
            return match self.members.get(&request.member_id) {
                // A member that rejoins (after being fenced) starts over: what it held is
                // released and it joins afresh.
                Some(_) if joining => {
                    self.fence(&request.member_id);
                    Ok(ConsumerMember::new(&request.member_id))
                }
                Some(member) => {
                    check_epoch(member, request)?;
                    Ok(member.clone())
                }
                None if joining => Ok(ConsumerMember::new(&request.member_id)),
                None => Err(unknown_member(format!(
                    "Member {} is not a member of group {}.",
                    request.member_id, self.id
                ))),
            };
        };
        let current = self
            .static_member_id(instance_id)
            .and_then(|id| self.members.get(id))
            .cloned();
        match current {
            None if joining => {
                if self.members.contains_key(&request.member_id) {
                    self.fence(&request.member_id);
                }
                Ok(ConsumerMember::new(&request.member_id))
            }
            None => Err(unknown_member(format!(
                "Instance id {instance_id} is unknown."
            ))),
            Some(current) if joining => {
                if current.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH
                    && current.id != request.member_id
                {
                    return Err(GroupError::new(
                        ResponseError::UnreleasedInstanceId,
                        format!(
                            "Static member {} with instance id {instance_id} cannot join the group because the instance id is owned by {} member.",
                            request.member_id, current.id
                        ),
                    ));
                }
                // The new incarnation takes the old one's place and partitions.
                self.remove_member(&current.id);
                let mut member = current;
                member.id = request.member_id.clone();
                member.member_epoch = 0;
                member.previous_member_epoch = 0;
                member.state = MemberState::Stable;
                member.pending_revocation = Assignment::new();
                member.revocation_deadline = None;
                Ok(member)
            }
            Some(current) => {
                if current.id != request.member_id {
                    return Err(GroupError::new(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance_id} was fenced by member {}.",
                            request.member_id, current.id
                        ),
                    ));
                }
                check_epoch(&current, request)?;
                Ok(current)
            }
        }
    }

    /// A join or a heartbeat.
    fn beat(
        &mut self,
        request: &ConsumerHeartbeatRequest,
        config: &GroupConfig,
        partition_count: &dyn Fn(&str) -> Option<u32>,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let member = self.member_for(request)?;
        let is_new = !self.members.contains_key(&member.id);
        let mut updated = member.clone();
        if let Some(instance_id) = &request.instance_id {
            updated.instance_id = Some(instance_id.clone());
        }
        if let Some(rack_id) = &request.rack_id {
            updated.rack_id = Some(rack_id.clone());
        }
        if request.rebalance_timeout_ms != -1 {
            updated.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        if let Some(assignor) = &request.server_assignor {
            updated.server_assignor = Some(assignor.clone());
        }
        if let Some(names) = &request.subscribed_topic_names {
            updated.subscribed_topic_names = names.iter().cloned().collect();
        }
        updated.client_id = request.client_id.clone();
        updated.client_host = request.client_host.clone();
        updated.session_deadline = now_ms + i64::from(config.consumer_session_timeout_ms);

        let mut bump = is_new || updated.subscribed_topic_names != member.subscribed_topic_names;
        self.put_member(updated);
        let partitions = self.compute_subscribed_partitions(partition_count);
        if partitions != self.subscribed_partitions {
            self.subscribed_partitions = partitions;
            bump = true;
        }
        if bump {
            self.group_epoch += 1;
        }
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(Assignor::Uniform);
        }

        let current = self.members[&request.member_id].clone();
        let target = self.target_of(&current.id);
        let mut next = if current.is_reconciled_to(self.assignment_epoch) {
            current.clone()
        } else {
            reconcile(
                &current,
                self.assignment_epoch,
                &target,
                &|topic, partition| self.owner_epoch(topic, partition),
                request.owned.as_ref(),
            )
        };
        if next != current {
            next.revocation_deadline = (next.state == MemberState::UnrevokedPartitions)
                .then(|| now_ms + i64::from(next.rebalance_timeout_ms.max(0)));
        }
        let full_request = request.member_epoch == 0
            || (request.rebalance_timeout_ms != -1
                && request.subscribed_topic_names.is_some()
                && request.owned.is_some());
        let assignment = (full_request || next.assigned != member.assigned || is_new)
            .then(|| next.assigned.clone());
        let response = ConsumerHeartbeatResponse {
            member_id: next.id.clone(),
            member_epoch: next.member_epoch,
            heartbeat_interval_ms: config.consumer_heartbeat_interval_ms,
            assignment,
        };
        self.put_member(next);
        Ok(response)
    }

    /// A leave: -1 removes the member; -2 keeps a static member's place and partitions
    /// until it comes back or its session expires.
    fn leave(
        &mut self,
        request: &ConsumerHeartbeatRequest,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let member_id = match request.instance_id.as_deref() {
            None => {
                if !self.members.contains_key(&request.member_id) {
                    return Err(unknown_member(format!(
                        "Member {} is not a member of group {}.",
                        request.member_id, self.id
                    )));
                }
                request.member_id.clone()
            }
            Some(instance_id) => {
                let current = self.static_member_id(instance_id).ok_or_else(|| {
                    unknown_member(format!("Instance id {instance_id} is unknown."))
                })?;
                if current != request.member_id {
                    return Err(GroupError::new(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance_id} was fenced by member {current}.",
                            request.member_id
                        ),
                    ));
                }
                current.to_owned()
            }
        };
        if request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
            if let Some(member) = self.members.get(&member_id) {
                let mut leaving = member.clone();
                leaving.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
                leaving.pending_revocation = Assignment::new();
                leaving.revocation_deadline = None;
                self.put_member(leaving);
            }
        } else {
            self.fence(&member_id);
        }
        Ok(ConsumerHeartbeatResponse {
            member_id: request.member_id.clone(),
            member_epoch: request.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member and bumps the group epoch (Kafka's `consumerGroupFenceMember`); the
    /// new target is computed at the next heartbeat.
    pub(crate) fn fence(&mut self, member_id: &str) {
        if self.remove_member(member_id).is_some() {
            self.group_epoch += 1;
            self.subscribed_partitions.retain(|topic, _| {
                self.members
                    .values()
                    .any(|m| m.subscribed_topic_names.contains(topic))
            });
        }
    }
}

/// Kafka's `throwIfConsumerGroupMemberEpochIsInvalid`: a heartbeat must carry the member's
/// epoch, or its previous one with owned partitions it is still assigned (the answer that
/// moved it on may have been lost).
fn check_epoch(
    member: &ConsumerMember,
    request: &ConsumerHeartbeatRequest,
) -> Result<(), GroupError> {
    let received = request.member_epoch;
    let fenced = |relation: &str| {
        Err(GroupError::new(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a {relation} member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch
            ),
        ))
    };
    if received > member.member_epoch {
        return fenced("greater");
    }
    if received < member.member_epoch {
        let owned_still_assigned = request
            .owned
            .as_ref()
            .is_some_and(|owned| owned.is_subset(&member.assigned));
        if received != member.previous_member_epoch || !owned_still_assigned {
            return fenced("smaller");
        }
    }
    Ok(())
}
