//! A group's life through its states: joining, syncing, heartbeats, timeouts, leaving.

use kafka_protocol::ResponseError;

use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::requests::LeavingMember;
use super::test_support::{
    Broker, REBALANCE_MS, SESSION_MS, heartbeat, join_reply, join_request, metadata, reply,
    sync_reply, sync_request,
};

fn state(broker: &Broker, group: &str) -> GroupState {
    broker.coordinator.describe_group(group).state
}

fn leaving(member_id: &str) -> LeavingMember {
    LeavingMember {
        member_id: member_id.to_owned(),
        group_instance_id: None,
    }
}

#[test]
fn a_single_member_is_asked_for_a_member_id_then_joins_syncs_and_is_stable() {
    let mut broker = Broker::new();
    let (ticket, out) = broker.join(&join_request("g", "", "c1"));
    let required = join_reply(&out, ticket);
    assert_eq!(required.error, Some(ResponseError::MemberIdRequired));
    assert!(
        required.member_id.starts_with("c1-"),
        "{}",
        required.member_id
    );
    assert_eq!(state(&broker, "g"), GroupState::Empty);

    let (ticket, out) = broker.join(&join_request("g", &required.member_id, "c1"));
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.error, None);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader, required.member_id);
    assert_eq!(joined.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.members[0].metadata, metadata("c1"));
    assert_eq!(state(&broker, "g"), GroupState::CompletingRebalance);

    let member = &required.member_id;
    let (ticket, out) = broker.sync(&sync_request("g", 1, member, &[(member, "p0")]));
    let synced = sync_reply(&out, ticket);
    assert_eq!(synced.error, None);
    assert_eq!(&synced.assignment[..], b"p0");
    assert_eq!(synced.protocol_name.as_deref(), Some("range"));
    assert_eq!(state(&broker, "g"), GroupState::Stable);
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", 1, member), broker.now),
        Ok(())
    );
}

#[test]
fn without_kip_394_a_new_member_joins_at_once() {
    let mut broker = Broker::new();
    let mut request = join_request("g", "", "c1");
    request.require_known_member_id = false;
    let (ticket, out) = broker.join(&request);
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.error, None);
    assert_eq!(joined.generation_id, 1);
}

#[test]
fn a_second_member_triggers_a_rebalance_that_completes_when_both_have_joined() {
    let mut broker = Broker::new();
    let (first, generation) = broker.stable_single("g", "c1");

    let (second, second_ticket, out) = broker.join_new("g", "c2");
    assert!(
        reply(&out, second_ticket).is_none(),
        "the round waits for the first member"
    );
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &first), broker.now),
        Err(ResponseError::RebalanceInProgress)
    );

    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let leader = join_reply(&out, first_ticket);
    let follower = join_reply(&out, second_ticket);
    assert_eq!(leader.generation_id, generation + 1);
    assert_eq!(follower.generation_id, generation + 1);
    assert_eq!(leader.leader, first);
    assert_eq!(follower.leader, first);
    let listed: Vec<_> = leader
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.metadata.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (first.as_str(), metadata("c1")),
            (second.as_str(), metadata("c2"))
        ]
    );
    assert!(follower.members.is_empty());

    // The follower syncs first and waits for the leader's assignment.
    let generation = leader.generation_id;
    let (follower_sync, out) = broker.sync(&sync_request("g", generation, &second, &[]));
    assert!(out.is_empty());
    let (leader_sync, out) = broker.sync(&sync_request(
        "g",
        generation,
        &first,
        &[(&first, "a"), (&second, "b")],
    ));
    assert_eq!(&sync_reply(&out, leader_sync).assignment[..], b"a");
    assert_eq!(&sync_reply(&out, follower_sync).assignment[..], b"b");
    assert_eq!(state(&broker, "g"), GroupState::Stable);
}

#[test]
fn a_member_that_does_not_rejoin_within_the_rebalance_timeout_is_removed() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, ticket, _) = broker.join_new("g", "c2");

    // The first member keeps heartbeating but never rejoins.
    let start = broker.now;
    while broker.now + 5000 < start + i64::from(REBALANCE_MS) {
        assert!(broker.advance(5000).is_empty());
        assert_eq!(
            broker
                .coordinator
                .heartbeat(&heartbeat("g", 1, &first), broker.now),
            Err(ResponseError::RebalanceInProgress)
        );
    }
    assert!(
        broker
            .coordinator
            .tick(start + i64::from(REBALANCE_MS) - 1)
            .is_empty()
    );
    let out = broker.coordinator.tick(start + i64::from(REBALANCE_MS));
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.error, None);
    assert_eq!(joined.leader, second, "the member that rejoined leads");
    assert_eq!(joined.members.len(), 1);
    assert!(!broker.has_member("g", &first));
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", 1, &first), broker.now),
        Err(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_member_whose_session_expires_is_removed_and_the_group_rebalances() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert!(reply(&out, ticket).is_some());
    let (_, out) = broker.sync(&sync_request("g", generation, &first, &[]));
    assert_eq!(out.len(), 1);
    broker.sync(&sync_request("g", generation, &second, &[]));
    assert_eq!(state(&broker, "g"), GroupState::Stable);

    // Only the second member heartbeats.
    for _ in 0..3 {
        broker.advance(i64::from(SESSION_MS) / 2);
        let answer = broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &second), broker.now);
        if broker.has_member("g", &first) {
            assert_eq!(answer, Ok(()));
        }
    }
    assert!(!broker.has_member("g", &first));
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &second), broker.now),
        Err(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn next_deadline_names_the_session_expiry_and_nothing_fires_before_it() {
    let mut broker = Broker::new();
    let (member, _) = broker.stable_single("g", "c1");
    let deadline = broker
        .coordinator
        .next_deadline()
        .expect("a session deadline");
    assert_eq!(deadline, broker.now + i64::from(SESSION_MS));
    assert!(broker.coordinator.tick(deadline - 1).is_empty());
    assert!(broker.has_member("g", &member));
    broker.coordinator.tick(deadline);
    assert!(!broker.has_member("g", &member));
    assert_eq!(state(&broker, "g"), GroupState::Empty);
    assert_eq!(broker.coordinator.next_deadline(), None);
}

#[test]
fn a_member_waiting_in_a_join_round_is_not_expired_by_its_session() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, second_ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert!(reply(&out, second_ticket).is_some());
    broker.sync(&sync_request("g", generation, &first, &[]));
    broker.sync(&sync_request("g", generation, &second, &[]));

    broker.coordinator.force_rebalance("g", broker.now);
    let (waiting, out) = broker.join(&join_request("g", &first, "c1"));
    assert!(out.is_empty());
    // `second` heartbeats for longer than a session before it rejoins; `first` only waits.
    for _ in 0..5 {
        assert!(broker.advance(5000).is_empty());
        let _ = broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &second), broker.now);
    }
    assert!(
        broker.has_member("g", &first),
        "a waiting member's session does not run"
    );
    let (ticket, out) = broker.join(&join_request("g", &second, "c2"));
    assert_eq!(join_reply(&out, waiting).members.len(), 2);
    assert_eq!(join_reply(&out, ticket).generation_id, generation + 1);
}

#[test]
fn a_new_member_that_never_completes_its_first_round_is_dropped_after_five_minutes() {
    let mut broker = Broker::new();
    let mut slow = join_request("g", "", "c1");
    slow.require_known_member_id = false;
    slow.rebalance_timeout_ms = 10 * 60 * 1000;
    let (ticket, out) = broker.join(&slow);
    let first = join_reply(&out, ticket);
    broker.sync(&sync_request("g", 1, &first.member_id, &[]));
    let (_, second_ticket, _) = broker.join_new("g", "c2");

    // The first member heartbeats but never rejoins: the round waits ten minutes.
    let mut dropped = None;
    for _ in 0..(5 * 60 / 5) {
        let out = broker.advance(5000);
        let _ = broker
            .coordinator
            .heartbeat(&heartbeat("g", 1, &first.member_id), broker.now);
        if let Some(reply) = reply(&out, second_ticket) {
            dropped = Some(reply.clone());
        }
    }
    match dropped {
        Some(super::replies::Reply::Join(join)) => {
            assert_eq!(join.error, Some(ResponseError::UnknownMemberId));
            assert_eq!(join.member_id, "");
        }
        other => panic!("expected the new member to be dropped, got {other:?}"),
    }
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
}

#[test]
fn a_batched_leave_removes_each_member_and_answers_each() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, second_ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert_eq!(join_reply(&out, second_ticket).generation_id, generation);

    let (left, out) = broker
        .coordinator
        .leave_group(
            "g",
            &[leaving(&first), leaving("nobody"), leaving(&second)],
            broker.now,
        )
        .unwrap();
    assert!(out.is_empty());
    let errors: Vec<_> = left.iter().map(|l| l.error).collect();
    assert_eq!(
        errors,
        vec![None, Some(ResponseError::UnknownMemberId), None]
    );
    assert_eq!(state(&broker, "g"), GroupState::Empty);
    assert_eq!(
        broker.coordinator.snapshot()[0].generation_id,
        generation + 1
    );
}

#[test]
fn when_the_leader_leaves_a_remaining_member_leads_the_next_generation() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, second_ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert_eq!(join_reply(&out, second_ticket).leader, first);
    broker.sync(&sync_request("g", generation, &first, &[]));
    broker.sync(&sync_request("g", generation, &second, &[]));

    let (_, out) = broker
        .coordinator
        .leave_group("g", &[leaving(&first)], broker.now)
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
    let (ticket, out) = broker.join(&join_request("g", &second, "c2"));
    let joined = join_reply(&out, ticket);
    assert_eq!(joined.leader, second);
    assert_eq!(joined.generation_id, generation + 1);
    assert_eq!(joined.members.len(), 1);
}

#[test]
fn leaving_an_unknown_group_answers_unknown_member_for_each() {
    let mut broker = Broker::new();
    let (left, _) = broker
        .coordinator
        .leave_group("nope", &[leaving("a"), leaving("b")], broker.now)
        .unwrap();
    assert!(
        left.iter()
            .all(|l| l.error == Some(ResponseError::UnknownMemberId))
    );
    assert_eq!(
        broker.coordinator.leave_group("", &[], broker.now),
        Err(ResponseError::InvalidGroupId)
    );
}

#[test]
fn heartbeat_and_sync_errors_follow_kafka() {
    let mut broker = Broker::new();
    let now = broker.now;
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("nope", 1, "m"), now),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        broker.coordinator.heartbeat(&heartbeat("", 1, "m"), now),
        Err(ResponseError::InvalidGroupId)
    );
    let (ticket, out) = broker.sync(&sync_request("nope", 1, "m", &[]));
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::UnknownMemberId)
    );

    let (member, generation) = broker.stable_single("g", "c1");
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation + 1, &member), now),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, "stranger"), now),
        Err(ResponseError::UnknownMemberId)
    );
    let (ticket, out) = broker.sync(&sync_request("g", generation + 1, &member, &[]));
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::IllegalGeneration)
    );
    // A sync in a Stable group returns the current assignment.
    let (ticket, out) = broker.sync(&sync_request("g", generation, &member, &[]));
    assert_eq!(&sync_reply(&out, ticket).assignment[..], b"a");

    // A sync while a round is open is told to rejoin.
    broker.join_new("g", "c2");
    let (ticket, out) = broker.sync(&sync_request("g", generation, &member, &[]));
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn heartbeats_during_completing_rebalance_keep_the_session_alive() {
    let mut broker = Broker::new();
    let (member, ticket, out) = broker.join_new("g", "c1");
    let generation = join_reply(&out, ticket).generation_id;
    assert_eq!(state(&broker, "g"), GroupState::CompletingRebalance);
    broker.advance(i64::from(SESSION_MS) - 1);
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &member), broker.now),
        Ok(())
    );
}

#[test]
fn a_sync_waiting_when_a_new_round_opens_is_told_rebalance_in_progress() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, second_ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert!(reply(&out, second_ticket).is_some());
    let (waiting, out) = broker.sync(&sync_request("g", generation, &second, &[]));
    assert!(out.is_empty());

    let (forced, out) = broker.coordinator.force_rebalance("g", broker.now);
    assert!(forced);
    assert_eq!(
        sync_reply(&out, waiting).error,
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
}

#[test]
fn a_forced_rebalance_makes_every_member_rejoin_into_the_next_generation() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    let (forced, out) = broker.coordinator.force_rebalance("g", broker.now);
    assert!(forced && out.is_empty());
    assert_eq!(
        broker
            .coordinator
            .heartbeat(&heartbeat("g", generation, &member), broker.now),
        Err(ResponseError::RebalanceInProgress)
    );
    let (ticket, out) = broker.join(&join_request("g", &member, "c1"));
    assert_eq!(join_reply(&out, ticket).generation_id, generation + 1);
    // Nothing to force in other states.
    assert!(!broker.coordinator.force_rebalance("absent", broker.now).0);
    let (forced, _) = broker.coordinator.force_rebalance("g", broker.now);
    assert!(forced, "CompletingRebalance can be forced too");
    assert!(!broker.coordinator.force_rebalance("g", broker.now).0);
}

#[test]
fn members_that_do_not_sync_within_the_rebalance_timeout_are_removed() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, _, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    // The leader syncs; the follower never does.
    broker.sync(&sync_request("g", generation, &first, &[(&first, "a")]));
    assert_eq!(state(&broker, "g"), GroupState::Stable);
    broker.now += i64::from(REBALANCE_MS) - 1;
    let _ = broker
        .coordinator
        .heartbeat(&heartbeat("g", generation, &first), broker.now);
    broker.advance(1);
    assert!(!broker.has_member("g", &second));
    assert_eq!(state(&broker, "g"), GroupState::PreparingRebalance);
}

#[test]
fn a_cancelled_ticket_is_never_answered_but_its_member_still_counts_as_joined() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (_, second_ticket, _) = broker.join_new("g", "c2");
    assert!(broker.coordinator.cancel(second_ticket));
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    assert!(reply(&out, second_ticket).is_none());
    let joined = join_reply(&out, first_ticket);
    assert_eq!(joined.members.len(), 2);
    assert!(
        !broker.coordinator.cancel(first_ticket),
        "answered tickets are not waiting"
    );
}

#[test]
fn the_first_round_of_an_empty_group_waits_the_initial_delay_and_longer_while_members_arrive() {
    let mut broker = Broker::with_config(GroupConfig {
        initial_rebalance_delay_ms: 3000,
        ..GroupConfig::default()
    });
    let (_, first_ticket, out) = broker.join_new("g", "c1");
    assert!(out.is_empty());
    assert_eq!(broker.coordinator.next_deadline(), Some(broker.now + 3000));
    assert!(broker.advance(2000).is_empty());
    let (_, second_ticket, out) = broker.join_new("g", "c2");
    assert!(out.is_empty(), "all joined, but the delay is not cut short");
    // The first delay ends at 3000; a member arrived, so it is extended by another 3000.
    assert!(broker.advance(1000).is_empty());
    assert!(broker.advance(2999).is_empty());
    let out = broker.advance(1);
    assert_eq!(join_reply(&out, first_ticket).generation_id, 1);
    assert_eq!(join_reply(&out, second_ticket).members.len(), 0);
    assert_eq!(join_reply(&out, first_ticket).members.len(), 2);
}

#[test]
fn join_errors_for_bad_requests() {
    let mut broker = Broker::new();
    let mut request = join_request("", "", "c1");
    let (ticket, out) = broker.join(&request);
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::InvalidGroupId)
    );
    request.group_id = "g".to_owned();
    request.session_timeout_ms = 10;
    let (ticket, out) = broker.join(&request);
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::InvalidSessionTimeout)
    );
    let (ticket, out) = broker.join(&join_request("g", "made-up", "c1"));
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_member_id_handed_out_lapses_after_the_session_timeout() {
    let mut broker = Broker::new();
    let (ticket, out) = broker.join(&join_request("g", "", "c1"));
    let pending = join_reply(&out, ticket).member_id;
    broker.advance(i64::from(SESSION_MS));
    let (ticket, out) = broker.join(&join_request("g", &pending, "c1"));
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_round_waits_for_a_pending_member_until_it_joins_or_lapses() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (_, second_ticket, _) = broker.join_new("g", "c2");
    // A third client got a member id but has not joined with it yet.
    let (ticket, out) = broker.join(&join_request("g", "", "c3"));
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::MemberIdRequired)
    );
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    assert!(out.is_empty(), "the pending member holds the round");
    let out = broker.advance(i64::from(SESSION_MS));
    assert_eq!(join_reply(&out, first_ticket).members.len(), 2);
    assert!(reply(&out, second_ticket).is_some());
}
