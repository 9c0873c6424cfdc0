//! Protocol type and protocol choice: a vote among what every member supports.

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::requests::JoinRequest;
use super::test_support::{Broker, join_reply, join_request, sync_reply, sync_request};

fn with_protocols(client: &str, protocols: &[&str]) -> JoinRequest {
    let mut request = join_request("g", "", client);
    request.require_known_member_id = false;
    request.protocols = protocols
        .iter()
        .map(|p| ((*p).to_owned(), Bytes::from(format!("{client}-{p}"))))
        .collect();
    request
}

#[test]
fn the_protocol_most_members_prefer_among_those_all_support_is_chosen() {
    let mut broker = Broker::new();
    let (t1, _) = broker.join(&with_protocols("c1", &["sticky", "range", "roundrobin"]));
    // c1's first round already completed alone (no delay): it rejoins with the others.
    let member1 = broker.coordinator.snapshot()[0].members[0]
        .member_id
        .clone();
    let _ = t1;
    let (t2, _) = broker.join(&with_protocols("c2", &["roundrobin", "range"]));
    let (t3, _) = broker.join(&with_protocols("c3", &["roundrobin", "range", "sticky"]));
    let mut rejoin = with_protocols("c1", &["sticky", "range", "roundrobin"]);
    rejoin.member_id = member1;
    let (t1, out) = broker.join(&rejoin);
    // Candidates: range and roundrobin (sticky is not supported by c2).
    // Votes: c1 → range, c2 → roundrobin, c3 → roundrobin.
    for ticket in [t1, t2, t3] {
        assert_eq!(
            join_reply(&out, ticket).protocol_name.as_deref(),
            Some("roundrobin")
        );
    }
    let leader = join_reply(&out, t1);
    assert_eq!(&leader.members[0].metadata[..], b"c1-roundrobin");
}

#[test]
fn a_member_supporting_none_of_the_groups_protocols_is_inconsistent() {
    let mut broker = Broker::new();
    broker.join(&with_protocols("c1", &["range"]));
    let (ticket, out) = broker.join(&with_protocols("c2", &["roundrobin"]));
    let reply = join_reply(&out, ticket);
    assert_eq!(reply.error, Some(ResponseError::InconsistentGroupProtocol));
    assert_eq!(reply.member_id, "");
}

#[test]
fn a_member_of_another_protocol_type_is_inconsistent() {
    let mut broker = Broker::new();
    broker.join(&with_protocols("c1", &["range"]));
    let mut other = with_protocols("c2", &["range"]);
    other.protocol_type = "connect".to_owned();
    let (ticket, out) = broker.join(&other);
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
}

#[test]
fn the_first_member_needs_a_protocol_type_and_a_protocol() {
    let mut broker = Broker::new();
    let mut request = with_protocols("c1", &[]);
    let (ticket, out) = broker.join(&request);
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    request.protocols = vec![("range".to_owned(), Bytes::new())];
    request.protocol_type = String::new();
    let (ticket, out) = broker.join(&request);
    assert_eq!(
        join_reply(&out, ticket).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
}

#[test]
fn sync_group_checks_the_protocol_type_and_name_it_is_given() {
    let mut broker = Broker::new();
    let (member, ticket, out) = broker.join_new("g", "c1");
    let generation = join_reply(&out, ticket).generation_id;
    let mut request = sync_request("g", generation, &member, &[]);
    request.protocol_type = Some("connect".to_owned());
    let (ticket, out) = broker.sync(&request);
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    request.protocol_type = Some("consumer".to_owned());
    request.protocol_name = Some("roundrobin".to_owned());
    let (ticket, out) = broker.sync(&request);
    assert_eq!(
        sync_reply(&out, ticket).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    request.protocol_name = Some("range".to_owned());
    let (ticket, out) = broker.sync(&request);
    assert_eq!(sync_reply(&out, ticket).error, None);
}

#[test]
fn a_follower_rejoining_a_stable_group_with_the_same_metadata_gets_the_current_generation() {
    let mut broker = Broker::new();
    let (first, _) = broker.stable_single("g", "c1");
    let (second, second_ticket, _) = broker.join_new("g", "c2");
    let (first_ticket, out) = broker.join(&join_request("g", &first, "c1"));
    let generation = join_reply(&out, first_ticket).generation_id;
    assert!(super::test_support::reply(&out, second_ticket).is_some());
    broker.sync(&sync_request("g", generation, &first, &[]));
    broker.sync(&sync_request("g", generation, &second, &[]));

    let (ticket, out) = broker.join(&join_request("g", &second, "c2"));
    let again = join_reply(&out, ticket);
    assert_eq!((again.error, again.generation_id), (None, generation));
    // The leader rejoining asks for a new round.
    let (ticket, out) = broker.join(&join_request("g", &first, "c1"));
    assert!(out.is_empty(), "{ticket:?} waits for the follower");
    assert_eq!(
        broker.coordinator.describe_group("g").state,
        super::group_state::GroupState::PreparingRebalance
    );
}
