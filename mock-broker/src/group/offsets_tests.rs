//! Committed offsets: who may commit when, what a fetch returns, what may be deleted.

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::group_state::GroupState;
use super::requests::{CommitRequest, OffsetToCommit};
use super::test_support::{Broker, join_reply, join_request, subscription, sync_request};

fn commit(
    group: &str,
    generation: i32,
    member: &str,
    offsets: &[(&str, i32, i64)],
) -> CommitRequest {
    CommitRequest {
        group_id: group.to_owned(),
        generation_id: generation,
        member_id: member.to_owned(),
        group_instance_id: None,
        offsets: offsets
            .iter()
            .map(|(topic, partition, offset)| OffsetToCommit {
                topic: (*topic).to_owned(),
                partition: *partition,
                offset: *offset,
                leader_epoch: 7,
                metadata: Some("m".to_owned()),
            })
            .collect(),
    }
}

fn errors(results: &[super::offsets::PartitionResult]) -> Vec<Option<ResponseError>> {
    results.iter().map(|r| r.error).collect()
}

fn fetched(broker: &Broker, group: &str) -> Vec<(String, i32, i64)> {
    broker
        .coordinator
        .fetch_offsets(group, None)
        .into_iter()
        .map(|f| (f.topic, f.partition, f.offset))
        .collect()
}

#[test]
fn an_admin_commit_creates_an_empty_group_and_fetch_returns_it() {
    let mut broker = Broker::new();
    let results = broker.coordinator.commit_offsets(
        &commit("g", -1, "", &[("t", 0, 5), ("t", 1, 9)]),
        broker.now,
    );
    assert_eq!(errors(&results), vec![None, None]);
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Empty
    );
    assert_eq!(
        fetched(&broker, "g"),
        vec![("t".to_owned(), 0, 5), ("t".to_owned(), 1, 9)]
    );
    let one = broker
        .coordinator
        .fetch_offsets("g", Some(&[("t".to_owned(), 1), ("u".to_owned(), 0)]));
    assert_eq!(
        (one[0].offset, one[0].leader_epoch, one[0].metadata.as_str()),
        (9, 7, "m")
    );
    assert_eq!(
        (one[1].offset, one[1].leader_epoch, one[1].metadata.as_str()),
        (-1, -1, "")
    );
}

#[test]
fn a_commit_with_a_generation_to_an_unknown_group_is_illegal_generation() {
    let mut broker = Broker::new();
    let results = broker
        .coordinator
        .commit_offsets(&commit("g", 3, "m", &[("t", 0, 5)]), broker.now);
    assert_eq!(
        errors(&results),
        vec![Some(ResponseError::IllegalGeneration)]
    );
    assert!(broker.coordinator.snapshot().is_empty());
    assert!(broker.coordinator.fetch_offsets("g", None).is_empty());
}

#[test]
fn members_commit_in_their_generation_and_others_are_refused() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    let now = broker.now;
    let c = &mut broker.coordinator;
    assert_eq!(
        errors(&c.commit_offsets(&commit("g", generation, &member, &[("t", 0, 1)]), now)),
        vec![None]
    );
    assert_eq!(
        errors(&c.commit_offsets(&commit("g", generation + 1, &member, &[("t", 0, 2)]), now)),
        vec![Some(ResponseError::IllegalGeneration)]
    );
    assert_eq!(
        errors(&c.commit_offsets(&commit("g", generation, "stranger", &[("t", 0, 2)]), now)),
        vec![Some(ResponseError::UnknownMemberId)]
    );
    assert_eq!(
        errors(&c.commit_offsets(&commit("g", -1, "", &[("t", 0, 2)]), now)),
        vec![Some(ResponseError::UnknownMemberId)],
        "admin commits only to an Empty group"
    );
    assert_eq!(fetched(&broker, "g"), vec![("t".to_owned(), 0, 1)]);
}

#[test]
fn commits_during_completing_rebalance_are_rebalance_in_progress_and_allowed_while_preparing() {
    let mut broker = Broker::new();
    let (member, ticket, out) = broker.join_new("g", "c1");
    let generation = join_reply(&out, ticket).generation_id;
    let now = broker.now;
    assert_eq!(
        errors(
            &broker
                .coordinator
                .commit_offsets(&commit("g", generation, &member, &[("t", 0, 1)]), now)
        ),
        vec![Some(ResponseError::RebalanceInProgress)]
    );
    broker.sync(&sync_request("g", generation, &member, &[]));
    broker.coordinator.force_rebalance("g", now);
    assert_eq!(
        errors(
            &broker
                .coordinator
                .commit_offsets(&commit("g", generation, &member, &[("t", 0, 1)]), now)
        ),
        vec![None]
    );
}

#[test]
fn a_commit_keeps_the_members_session_alive() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    for _ in 0..5 {
        broker.advance(5000);
        let results = broker.coordinator.commit_offsets(
            &commit("g", generation, &member, &[("t", 0, 1)]),
            broker.now,
        );
        assert_eq!(errors(&results), vec![None]);
    }
    assert!(broker.has_member("g", &member));
}

#[test]
fn metadata_over_the_limit_is_refused_per_partition() {
    let mut broker = Broker::new();
    let mut request = commit("g", -1, "", &[("t", 0, 1), ("t", 1, 1)]);
    request.offsets[1].metadata = Some("x".repeat(4097));
    let results = broker.coordinator.commit_offsets(&request, broker.now);
    assert_eq!(
        errors(&results),
        vec![None, Some(ResponseError::OffsetMetadataTooLarge)]
    );
    assert_eq!(fetched(&broker, "g"), vec![("t".to_owned(), 0, 1)]);
}

#[test]
fn offsets_survive_the_group_going_empty() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    broker.coordinator.commit_offsets(
        &commit("g", generation, &member, &[("t", 0, 42)]),
        broker.now,
    );
    broker.advance(60_000);
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Empty
    );
    assert_eq!(fetched(&broker, "g"), vec![("t".to_owned(), 0, 42)]);
}

#[test]
fn deleting_a_group_needs_it_empty_and_takes_its_offsets() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    broker.coordinator.commit_offsets(
        &commit("g", generation, &member, &[("t", 0, 42)]),
        broker.now,
    );
    let ids = ["g".to_owned(), "absent".to_owned()];
    assert_eq!(
        broker.coordinator.delete_groups(&ids),
        vec![
            ("g".to_owned(), Some(ResponseError::NonEmptyGroup)),
            ("absent".to_owned(), Some(ResponseError::GroupIdNotFound))
        ]
    );
    broker
        .coordinator
        .leave_group(
            "g",
            &[super::requests::LeavingMember {
                member_id: member,
                group_instance_id: None,
            }],
            broker.now,
        )
        .unwrap();
    assert_eq!(
        broker.coordinator.delete_groups(&ids[..1]),
        vec![("g".to_owned(), None)]
    );
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Dead
    );
    assert!(broker.coordinator.fetch_offsets("g", None).is_empty());
}

#[test]
fn offsets_of_topics_a_consumer_group_subscribes_to_cannot_be_deleted_while_it_has_members() {
    let mut broker = Broker::new();
    let mut request = join_request("g", "", "c1");
    request.require_known_member_id = false;
    request.protocols = vec![(
        "range".to_owned(),
        Bytes::from(subscription(1, &["orders"])),
    )];
    let (ticket, out) = broker.join(&request);
    let joined = join_reply(&out, ticket);
    broker.sync(&sync_request("g", 1, &joined.member_id, &[]));
    broker.coordinator.commit_offsets(
        &commit(
            "g",
            1,
            &joined.member_id,
            &[("orders", 0, 1), ("audit", 0, 1)],
        ),
        broker.now,
    );
    let results = broker
        .coordinator
        .delete_offsets("g", &[("orders".to_owned(), 0), ("audit".to_owned(), 0)])
        .unwrap();
    assert_eq!(
        errors(&results),
        vec![Some(ResponseError::GroupSubscribedToTopic), None]
    );
    assert_eq!(fetched(&broker, "g"), vec![("orders".to_owned(), 0, 1)]);
    assert_eq!(
        broker.coordinator.delete_offsets("absent", &[]),
        Err(ResponseError::GroupIdNotFound)
    );
}

#[test]
fn a_non_consumer_group_with_members_keeps_its_offsets_and_an_empty_one_loses_them() {
    let mut broker = Broker::new();
    let mut request = join_request("g", "", "c1");
    request.require_known_member_id = false;
    request.protocol_type = "connect".to_owned();
    broker.join(&request);
    assert_eq!(
        broker
            .coordinator
            .delete_offsets("g", &[("t".to_owned(), 0)]),
        Err(ResponseError::NonEmptyGroup)
    );
    broker
        .coordinator
        .commit_offsets(&commit("h", -1, "", &[("t", 0, 1)]), broker.now);
    let results = broker
        .coordinator
        .delete_offsets("h", &[("t".to_owned(), 0)])
        .unwrap();
    assert_eq!(errors(&results), vec![None]);
    assert!(broker.coordinator.fetch_offsets("h", None).is_empty());
}
