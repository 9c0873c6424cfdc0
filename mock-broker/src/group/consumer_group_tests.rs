//! The consumer protocol (KIP-848) through every transition, without sockets: joins, the
//! group epoch, target assignments, revocation before reassignment, leaves, fencing,
//! expiry, static members, offsets, and the classic/consumer boundary.

use kafka_protocol::ResponseError;

use super::assignment::Assignment;
use super::consumer_group_state::ConsumerGroupState;
use super::consumer_heartbeat::{ConsumerHeartbeatRequest, ConsumerHeartbeatResponse, GroupError};
use super::consumer_member::MemberState;
use super::coordinator::Coordinator;
use super::group_config::GroupConfig;
use super::requests::{CommitRequest, OffsetToCommit};
use super::test_support::{Broker, join_request};

const GROUP: &str = "g";
const T0: i64 = 1_700_000_000_000;

/// Topic "t" has 4 partitions, "u" has 2; nothing else exists.
fn partitions(topic: &str) -> Option<u32> {
    match topic {
        "t" => Some(4),
        "u" => Some(2),
        _ => None,
    }
}

fn join(member: &str, topics: &[&str]) -> ConsumerHeartbeatRequest {
    ConsumerHeartbeatRequest {
        group_id: GROUP.into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
        owned: Some(Assignment::new()),
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
        ..Default::default()
    }
}

fn beat(member: &str, epoch: i32, owned: &Assignment) -> ConsumerHeartbeatRequest {
    ConsumerHeartbeatRequest {
        group_id: GROUP.into(),
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
        ..Default::default()
    }
}

fn parts(list: &[(&str, i32)]) -> Assignment {
    list.iter().copied().collect()
}

struct Harness {
    coordinator: Coordinator,
    now: i64,
}

impl Harness {
    fn new() -> Self {
        Self {
            coordinator: Coordinator::new(GroupConfig::default()),
            now: T0,
        }
    }

    fn send(
        &mut self,
        request: &ConsumerHeartbeatRequest,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        self.coordinator
            .consumer_group_heartbeat(request, &partitions, self.now)
    }

    fn ok(&mut self, request: &ConsumerHeartbeatRequest) -> ConsumerHeartbeatResponse {
        self.send(request)
            .unwrap_or_else(|e| panic!("{request:?} refused: {e:?}"))
    }

    fn error(&mut self, request: &ConsumerHeartbeatRequest) -> ResponseError {
        self.send(request).expect_err("refused").error
    }

    fn state(&self) -> ConsumerGroupState {
        self.coordinator
            .consumer_group_describe(GROUP)
            .expect("a consumer group")
            .state
    }

    fn member_state(&self, member: &str) -> MemberState {
        self.coordinator
            .consumer_group_describe(GROUP)
            .unwrap()
            .members
            .into_iter()
            .find(|m| m.member_id == member)
            .expect("a member")
            .state
    }
}

#[test]
fn a_lone_member_joins_at_epoch_one_with_every_partition() {
    let mut h = Harness::new();
    let joined = h.ok(&join("a", &["t"]));
    assert_eq!(joined.member_id, "a");
    assert_eq!(joined.member_epoch, 1);
    assert_eq!(joined.heartbeat_interval_ms, 5000);
    assert_eq!(
        joined.assignment,
        Some(parts(&[("t", 0), ("t", 1), ("t", 2), ("t", 3)]))
    );
    assert_eq!(h.state(), ConsumerGroupState::Stable);
    // A heartbeat that changes nothing carries no assignment and keeps the epoch.
    let again = h.ok(&beat("a", 1, &joined.assignment.unwrap()));
    assert_eq!((again.member_epoch, again.assignment), (1, None));
}

#[test]
fn a_second_member_gets_partitions_only_after_the_first_revokes_them() {
    let mut h = Harness::new();
    let all = h.ok(&join("a", &["t"])).assignment.unwrap();
    // b joins: epoch 2, half the partitions are its target but a still owns them.
    let b = h.ok(&join("b", &["t"]));
    assert_eq!(b.member_epoch, 2);
    assert_eq!(b.assignment, Some(Assignment::new()), "nothing free yet");
    assert_eq!(h.member_state("b"), MemberState::UnreleasedPartitions);
    assert_eq!(h.state(), ConsumerGroupState::Reconciling);
    // a learns it must give up half: it stays at epoch 1 until it does.
    let a = h.ok(&beat("a", 1, &all));
    assert_eq!(a.member_epoch, 1);
    let kept = a.assignment.clone().expect("a smaller assignment");
    assert_eq!(kept.len(), 2);
    assert_eq!(h.member_state("a"), MemberState::UnrevokedPartitions);
    // While a still says it owns them, nothing moves.
    assert_eq!(h.ok(&beat("a", 1, &all)).member_epoch, 1);
    assert_eq!(h.ok(&beat("b", 2, &Assignment::new())).assignment, None);
    // a revokes: it advances to epoch 2; then b gets the released half.
    let a = h.ok(&beat("a", 1, &kept));
    assert_eq!(a.member_epoch, 2);
    assert_eq!(h.member_state("a"), MemberState::Stable);
    let b = h.ok(&beat("b", 2, &Assignment::new()));
    let theirs = b.assignment.expect("the released partitions");
    assert_eq!(theirs, all.difference(&kept));
    assert_eq!(h.member_state("b"), MemberState::Stable);
    assert_eq!(h.state(), ConsumerGroupState::Stable);
}

/// Two members joined and reconciled: (a's partitions, b's partitions), at epoch 2.
fn two_stable_members(h: &mut Harness) -> (Assignment, Assignment) {
    let all = h.ok(&join("a", &["t"])).assignment.unwrap();
    h.ok(&join("b", &["t"]));
    let kept = h.ok(&beat("a", 1, &all)).assignment.unwrap();
    h.ok(&beat("a", 1, &kept));
    let theirs = h.ok(&beat("b", 2, &Assignment::new())).assignment.unwrap();
    assert_eq!(h.state(), ConsumerGroupState::Stable);
    (kept, theirs)
}

#[test]
fn when_a_member_leaves_the_other_gets_everything() {
    let mut h = Harness::new();
    let (a, _) = two_stable_members(&mut h);
    let left = h.ok(&beat("b", -1, &Assignment::new()));
    assert_eq!((left.member_id.as_str(), left.member_epoch), ("b", -1));
    assert_eq!(h.state(), ConsumerGroupState::Assigning);
    let now = h.ok(&beat("a", 2, &a));
    assert_eq!(now.member_epoch, 3);
    assert_eq!(now.assignment.unwrap().len(), 4);
    assert_eq!(h.state(), ConsumerGroupState::Stable);
    // The last one leaves: Empty.
    h.ok(&beat("a", -1, &Assignment::new()));
    assert_eq!(h.state(), ConsumerGroupState::Empty);
}

#[test]
fn a_silent_member_is_fenced_when_its_session_expires() {
    let mut h = Harness::new();
    let (a, _) = two_stable_members(&mut h);
    h.now += 40_000;
    h.ok(&beat("a", 2, &a));
    assert_eq!(
        h.coordinator.next_deadline(),
        Some(T0 + 45_000),
        "b's session ends first"
    );
    h.now = T0 + 45_000;
    h.coordinator.tick(h.now);
    assert_eq!(
        h.error(&beat("b", 2, &Assignment::new())),
        ResponseError::UnknownMemberId
    );
    assert_eq!(h.ok(&beat("a", 2, &a)).assignment.unwrap().len(), 4);
}

#[test]
fn a_member_that_does_not_revoke_in_its_rebalance_timeout_is_fenced() {
    let mut h = Harness::new();
    let all = h.ok(&join("a", &["t"])).assignment.unwrap();
    h.ok(&join("b", &["t"]));
    h.ok(&beat("a", 1, &all));
    assert_eq!(h.member_state("a"), MemberState::UnrevokedPartitions);
    h.now += 30_000;
    h.coordinator.tick(h.now);
    assert_eq!(h.error(&beat("a", 1, &all)), ResponseError::UnknownMemberId);
    let b = h.ok(&beat("b", 2, &Assignment::new()));
    assert_eq!(b.assignment.unwrap().len(), 4, "b gets everything");
}

#[test]
fn wrong_epochs_are_fenced_and_a_lost_answer_is_forgiven() {
    let mut h = Harness::new();
    let (a, b) = two_stable_members(&mut h);
    assert_eq!(h.error(&beat("a", 3, &a)), ResponseError::FencedMemberEpoch);
    // a moved from epoch 1 to 2 when it revoked: a heartbeat still at 1 that owns only
    // what a is assigned means the answer was lost, and is answered at epoch 2.
    assert_eq!(h.ok(&beat("a", 1, &a)).member_epoch, 2);
    let mut unknown_owned = beat("a", 1, &a);
    unknown_owned.owned = None;
    assert_eq!(h.error(&unknown_owned), ResponseError::FencedMemberEpoch);
    let everything: Assignment = a.iter().chain(b.iter()).collect();
    assert_eq!(
        h.error(&beat("a", 1, &everything)),
        ResponseError::FencedMemberEpoch
    );
    // A fenced member rejoins with epoch 0 and starts over.
    let rejoined = h.ok(&join("a", &["t"]));
    assert!(rejoined.member_epoch > 2);
}

#[test]
fn requests_kafka_refuses_are_refused() {
    let mut h = Harness::new();
    let mut no_member = join("", &["t"]);
    no_member.member_id.clear();
    assert_eq!(h.error(&no_member), ResponseError::InvalidRequest);
    let mut regex = join("a", &[]);
    regex.subscribed_topic_names = None;
    regex.subscribed_topic_regex = Some("t.*".into());
    let refused = h.send(&regex).unwrap_err();
    assert_eq!(refused.error, ResponseError::InvalidRequest);
    assert!(
        refused.message.contains("SubscribedTopicRegex"),
        "{refused:?}"
    );
    // librdkafka sends an empty regex beside its topic names: that is no regex.
    let mut empty_regex = join("a", &["t"]);
    empty_regex.subscribed_topic_regex = Some(String::new());
    assert!(h.send(&empty_regex).is_ok());
    h.ok(&beat("a", -1, &Assignment::new()));
    let mut assignor = join("a", &["t"]);
    assignor.server_assignor = Some("sticky".into());
    assert_eq!(h.error(&assignor), ResponseError::UnsupportedAssignor);
    let mut owning = join("a", &["t"]);
    owning.owned = Some(parts(&[("t", 0)]));
    assert_eq!(h.error(&owning), ResponseError::InvalidRequest);
    assert_eq!(
        h.error(&beat("a", -3, &Assignment::new())),
        ResponseError::InvalidRequest
    );
    assert_eq!(
        h.error(&beat("nobody", 5, &Assignment::new())),
        ResponseError::UnknownMemberId,
        "no such group: rejoin"
    );
    h.ok(&join("a", &["t"]));
    assert_eq!(
        h.error(&beat("nobody", 1, &Assignment::new())),
        ResponseError::UnknownMemberId
    );
}

#[test]
fn the_range_assignor_gives_consecutive_ranges_per_topic() {
    let mut h = Harness::new();
    let mut a = join("a", &["t", "u"]);
    a.server_assignor = Some("range".into());
    let all = h.ok(&a).assignment.unwrap();
    let mut b = join("b", &["t", "u"]);
    b.server_assignor = Some("range".into());
    h.ok(&b);
    let kept = h.ok(&beat("a", 1, &all)).assignment.unwrap();
    assert_eq!(kept, parts(&[("t", 0), ("t", 1), ("u", 0)]));
    h.ok(&beat("a", 1, &kept));
    let theirs = h.ok(&beat("b", 2, &Assignment::new())).assignment.unwrap();
    assert_eq!(theirs, parts(&[("t", 2), ("t", 3), ("u", 1)]));
    assert_eq!(
        h.coordinator
            .consumer_group_describe(GROUP)
            .unwrap()
            .assignor,
        "range"
    );
}

#[test]
fn subscriptions_to_missing_topics_get_nothing_until_the_topic_appears() {
    let mut h = Harness::new();
    let joined = h.ok(&join("a", &["missing"]));
    assert_eq!(joined.assignment, Some(Assignment::new()));
    let mut change = beat("a", 1, &Assignment::new());
    change.subscribed_topic_names = Some(vec!["u".into()]);
    let moved = h.ok(&change);
    assert_eq!(moved.member_epoch, 2, "a new subscription bumps the epoch");
    assert_eq!(moved.assignment, Some(parts(&[("u", 0), ("u", 1)])));
}

#[test]
fn a_static_member_that_leaves_for_a_while_comes_back_to_its_partitions() {
    let mut h = Harness::new();
    let mut a = join("a1", &["t"]);
    a.instance_id = Some("static-a".into());
    let all = h.ok(&a).assignment.unwrap();
    let mut leave = beat("a1", -2, &all);
    leave.instance_id = Some("static-a".into());
    assert_eq!(h.ok(&leave).member_epoch, -2);
    // Someone else with the same instance id while it is still held: refused.
    let mut other = join("x", &["t"]);
    other.instance_id = Some("static-b".into());
    h.ok(&other);
    let mut back = join("a2", &["t"]);
    back.instance_id = Some("static-a".into());
    let came_back = h.ok(&back);
    assert_eq!(came_back.member_id, "a2");
    assert!(
        !came_back.assignment.unwrap().is_empty(),
        "it keeps (some of) its partitions"
    );
    let mut impostor = join("a3", &["t"]);
    impostor.instance_id = Some("static-a".into());
    assert_eq!(h.error(&impostor), ResponseError::UnreleasedInstanceId);
    let mut stale = beat("a1", 1, &all);
    stale.instance_id = Some("static-a".into());
    assert_eq!(h.error(&stale), ResponseError::FencedInstanceId);
}

#[test]
fn members_commit_and_fetch_with_their_member_epoch() {
    let mut h = Harness::new();
    h.ok(&join("a", &["t"]));
    let commit = |member: &str, epoch: i32| CommitRequest {
        group_id: GROUP.into(),
        generation_id: epoch,
        member_id: member.into(),
        group_instance_id: None,
        offsets: vec![OffsetToCommit {
            topic: "t".into(),
            partition: 0,
            offset: 42,
            leader_epoch: -1,
            metadata: None,
        }],
    };
    let error = |results: Vec<super::offsets::PartitionResult>| results[0].error;
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("a", 1), 9, h.now)
        ),
        None
    );
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("a", 0), 9, h.now)
        ),
        Some(ResponseError::StaleMemberEpoch)
    );
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("a", 1), 8, h.now)
        ),
        Some(ResponseError::UnsupportedVersion)
    );
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("z", 1), 9, h.now)
        ),
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("", -1), 9, h.now)
        ),
        Some(ResponseError::UnknownMemberId),
        "anonymous commits only to an Empty group"
    );
    let fetched = h
        .coordinator
        .fetch_member_offsets(GROUP, Some(("a", 1)), None)
        .unwrap();
    assert_eq!(fetched[0].offset, 42);
    assert_eq!(
        h.coordinator
            .fetch_member_offsets(GROUP, Some(("a", 7)), None),
        Err(ResponseError::StaleMemberEpoch)
    );
    assert!(
        h.coordinator
            .fetch_member_offsets(GROUP, None, None)
            .is_ok()
    );
    // The group keeps its offsets when its last member leaves, and can then be deleted.
    assert_eq!(
        h.coordinator.delete_groups(&[GROUP.into()])[0].1,
        Some(ResponseError::NonEmptyGroup)
    );
    h.ok(&beat("a", -1, &Assignment::new()));
    assert_eq!(h.coordinator.fetch_offsets(GROUP, None)[0].offset, 42);
    assert_eq!(
        error(
            h.coordinator
                .commit_offsets_at_version(&commit("", -1), 9, h.now)
        ),
        None
    );
    assert_eq!(h.coordinator.delete_groups(&[GROUP.into()])[0].1, None);
    assert!(!h.coordinator.is_consumer_group(GROUP));
}

#[test]
fn a_group_id_is_either_classic_or_consumer() {
    let mut broker = Broker::new();
    let mut classic = join_request(GROUP, "", "c");
    classic.require_known_member_id = false;
    let (_, out) = broker.join(&classic);
    assert!(!out.is_empty(), "the round completes at once");
    let mut h = Harness {
        coordinator: broker.coordinator,
        now: broker.now,
    };
    // A classic group with (pending) members refuses consumer-protocol members.
    assert_eq!(h.error(&join("a", &["t"])), ResponseError::GroupIdNotFound);
    // And the other way round: a consumer group with members refuses JoinGroup.
    let mut h = Harness::new();
    h.ok(&join("a", &["t"]));
    let mut broker = Broker::new();
    broker.coordinator = h.coordinator;
    let (_, out) = broker.join(&classic);
    match &out[0].1 {
        super::replies::Reply::Join(reply) => {
            assert_eq!(reply.error, Some(ResponseError::InconsistentGroupProtocol));
        }
        other => panic!("{other:?}"),
    }
    // Once Empty, it may change sides, keeping its offsets.
    let mut h = Harness {
        coordinator: broker.coordinator,
        now: broker.now,
    };
    h.ok(&beat("a", -1, &Assignment::new()));
    let mut broker = Broker::new();
    broker.coordinator = h.coordinator;
    broker.join(&classic);
    assert!(!broker.coordinator.is_consumer_group(GROUP));
}
