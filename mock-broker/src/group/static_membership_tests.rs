//! Static members (KIP-345): a restarted instance takes its place back without a rebalance.

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::group_state::GroupState;
use super::requests::{JoinRequest, LeavingMember};
use super::test_support::{
    Broker, heartbeat, join_reply, join_request, reply, sync_reply, sync_request,
};

/// A JoinGroup from the static member `instance` (static members skip MEMBER_ID_REQUIRED).
fn static_join(member_id: &str, instance: &str) -> JoinRequest {
    let mut request = join_request("g", member_id, instance);
    request.group_instance_id = Some(instance.to_owned());
    request
}

/// A group of two static members, Stable: (leader id, follower id, generation).
fn stable_pair(broker: &mut Broker) -> (String, String, i32) {
    let (a_ticket, _) = broker.join(&static_join("", "a"));
    let (b_ticket, out) = broker.join(&static_join("", "b"));
    assert!(out.is_empty());
    // Both joined, but the first (empty-group) round already completed with `a` alone.
    let _ = (a_ticket, b_ticket);
    let a = broker.coordinator.snapshot()[0].members[0]
        .member_id
        .clone();
    let b = broker.coordinator.snapshot()[0].members[1]
        .member_id
        .clone();
    let generation = broker.coordinator.snapshot()[0].generation_id;
    // `a` rejoins (it is told to by the open round), completing it.
    let (ticket, out) = broker.join(&static_join(&a, "a"));
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.generation_id, generation + 1);
    let generation = joined.generation_id;
    let mut sync = sync_request("g", generation, &a, &[(&a, "for-a"), (&b, "for-b")]);
    sync.group_instance_id = Some("a".to_owned());
    broker.sync(&sync);
    let mut sync = sync_request("g", generation, &b, &[]);
    sync.group_instance_id = Some("b".to_owned());
    let (ticket, out) = broker.sync(&sync);
    assert_eq!(&sync_reply(&out, ticket).assignment[..], b"for-b");
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Stable
    );
    (a, b, generation)
}

#[test]
fn a_static_member_gets_its_member_id_without_member_id_required() {
    let mut broker = Broker::new();
    let (ticket, out) = broker.join(&static_join("", "a"));
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.error, None);
    assert!(joined.member_id.starts_with("a-"), "{}", joined.member_id);
}

#[test]
fn a_restarted_follower_replaces_its_old_member_id_without_a_rebalance() {
    let mut broker = Broker::new();
    let (a, b, generation) = stable_pair(&mut broker);

    let (ticket, out) = broker.join(&static_join("", "b"));
    let rejoined = join_reply(&out, ticket);
    assert_eq!(rejoined.error, None);
    assert_ne!(rejoined.member_id, b);
    assert_eq!(rejoined.generation_id, generation, "no new generation");
    assert_eq!(rejoined.leader, a);
    assert!(rejoined.members.is_empty());
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Stable
    );

    // Its current assignment is handed back through SyncGroup.
    let mut sync = sync_request("g", generation, &rejoined.member_id, &[]);
    sync.group_instance_id = Some("b".to_owned());
    let (ticket, out) = broker.sync(&sync);
    assert_eq!(&sync_reply(&out, ticket).assignment[..], b"for-b");

    // The old incarnation is fenced.
    let mut old = heartbeat("g", generation, &b);
    old.group_instance_id = Some("b".to_owned());
    assert_eq!(
        broker.coordinator.heartbeat(&old, broker.now),
        Err(ResponseError::FencedInstanceId)
    );
    let mut old_sync = sync_request("g", generation, &b, &[]);
    old_sync.group_instance_id = Some("b".to_owned());
    let (ticket, out) = broker.sync(&old_sync);
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::FencedInstanceId)
    );
}

#[test]
fn a_restarted_leader_is_not_told_it_leads_before_join_group_v9() {
    let mut broker = Broker::new();
    let (a, _, generation) = stable_pair(&mut broker);
    let (ticket, out) = broker.join(&static_join("", "a"));
    let rejoined = join_reply(&out, ticket);
    assert_eq!(rejoined.generation_id, generation);
    assert_eq!(
        rejoined.leader, a,
        "the old leader id, so that it does not reassign"
    );
    assert!(rejoined.members.is_empty());
    assert!(!rejoined.skip_assignment);
}

#[test]
fn a_restarted_leader_is_told_to_skip_assignment_from_join_group_v9() {
    let mut broker = Broker::new();
    let (_, _, generation) = stable_pair(&mut broker);
    let mut request = static_join("", "a");
    request.supports_skip_assignment = true;
    let (ticket, out) = broker.join(&request);
    let rejoined = join_reply(&out, ticket);
    assert_eq!(rejoined.generation_id, generation);
    assert_eq!(rejoined.leader, rejoined.member_id);
    assert_eq!(rejoined.members.len(), 2);
    assert!(rejoined.skip_assignment);
}

#[test]
fn a_static_member_rejoining_with_protocols_that_keep_the_groups_choice_does_not_rebalance() {
    let mut broker = Broker::new();
    let (a, b, _) = stable_pair(&mut broker);
    let _ = (a, b);
    let mut request = static_join("", "b");
    request.protocols = vec![
        ("roundrobin".to_owned(), Bytes::from_static(b"x")),
        ("range".to_owned(), Bytes::from_static(b"y")),
    ];
    // `a` supports only range, so range stays the choice: no rebalance.
    let (ticket, out) = broker.join(&request);
    assert_eq!(join_reply(&out, ticket).error, None);
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        GroupState::Stable
    );
}

#[test]
fn the_fenced_incarnations_waiting_join_is_answered_fenced_instance_id() {
    let mut broker = Broker::new();
    let (a, b, _) = stable_pair(&mut broker);
    broker.coordinator.force_rebalance("g", broker.now);
    let (old_ticket, out) = broker.join(&static_join(&b, "b"));
    assert!(out.is_empty(), "waits for a to rejoin");
    let (new_ticket, out) = broker.join(&static_join("", "b"));
    let fenced = join_reply(&out, old_ticket);
    assert_eq!(fenced.error, Some(ResponseError::FencedInstanceId));
    assert!(
        reply(&out, new_ticket).is_none(),
        "the new incarnation waits in the round"
    );
    let (ticket, out) = broker.join(&static_join(&a, "a"));
    assert_eq!(join_reply(&out, ticket).members.len(), 2);
    assert_ne!(join_reply(&out, new_ticket).member_id, b);
}

#[test]
fn a_static_member_that_does_not_rejoin_stays_in_the_group_until_its_session_ends() {
    let mut broker = Broker::new();
    let (a, b, generation) = stable_pair(&mut broker);
    broker.coordinator.force_rebalance("g", broker.now);
    let (ticket, _) = broker.join(&static_join(&a, "a"));
    // `b` heartbeats through the round but never rejoins.
    let mut out = Vec::new();
    for _ in 0..6 {
        out.extend(broker.advance(5000));
        let mut beat = heartbeat("g", generation, &b);
        beat.group_instance_id = Some("b".to_owned());
        let _ = broker.coordinator.heartbeat(&beat, broker.now);
    }
    let joined = join_reply(&out, ticket);
    assert_eq!(
        joined.members.len(),
        2,
        "static members are kept at the end of a round"
    );
    assert!(broker.has_member("g", &b));
    broker.advance(60_000);
    assert!(!broker.has_member("g", &b), "its session still expires");
}

#[test]
fn static_members_leave_by_instance_id_and_a_wrong_pairing_is_fenced() {
    let mut broker = Broker::new();
    let (a, b, _) = stable_pair(&mut broker);
    let (left, _) = broker
        .coordinator
        .leave_group(
            "g",
            &[
                LeavingMember {
                    member_id: a.clone(),
                    group_instance_id: Some("b".to_owned()),
                },
                LeavingMember {
                    member_id: String::new(),
                    group_instance_id: Some("b".to_owned()),
                },
                LeavingMember {
                    member_id: String::new(),
                    group_instance_id: Some("zz".to_owned()),
                },
            ],
            broker.now,
        )
        .unwrap();
    let errors: Vec<_> = left.iter().map(|l| l.error).collect();
    assert_eq!(
        errors,
        vec![
            Some(ResponseError::FencedInstanceId),
            None,
            Some(ResponseError::UnknownMemberId)
        ]
    );
    assert!(!broker.has_member("g", &b));
    assert!(broker.has_member("g", &a));
}

#[test]
fn a_leave_naming_a_static_members_id_without_its_instance_id_removes_it_as_kafka_does() {
    let mut broker = Broker::new();
    let (_, b, _) = stable_pair(&mut broker);
    let (left, _) = broker
        .coordinator
        .leave_group(
            "g",
            &[LeavingMember {
                member_id: b.clone(),
                group_instance_id: None,
            }],
            broker.now,
        )
        .unwrap();
    assert_eq!(left[0].error, None);
    assert!(!broker.has_member("g", &b));
}
