//! ListGroups, DescribeGroups and the admin snapshot.

use super::group_state::GroupState;
use super::test_support::{Broker, SESSION_MS, join_reply, join_request, metadata};

#[test]
fn list_groups_filters_by_state_names_in_any_case() {
    let mut broker = Broker::new();
    broker.stable_single("stable", "c1");
    broker.join_new("completing", "c2");
    broker.coordinator.commit_offsets(
        &super::requests::CommitRequest {
            group_id: "empty".to_owned(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            offsets: Vec::new(),
        },
        broker.now,
    );
    let names = |states: &[&str]| -> Vec<(String, GroupState)> {
        let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
        broker
            .coordinator
            .list_groups(&states)
            .into_iter()
            .map(|g| (g.group_id, g.state))
            .collect()
    };
    assert_eq!(names(&[]).len(), 3);
    assert_eq!(
        names(&["stable"]),
        vec![("stable".to_owned(), GroupState::Stable)]
    );
    assert_eq!(
        names(&["Empty", "COMPLETINGREBALANCE"]),
        vec![
            ("completing".to_owned(), GroupState::CompletingRebalance),
            ("empty".to_owned(), GroupState::Empty)
        ]
    );
    assert!(names(&["Dead"]).is_empty());
    let listed = broker.coordinator.list_groups(&[]);
    assert_eq!(
        listed
            .iter()
            .find(|g| g.group_id == "empty")
            .unwrap()
            .protocol_type,
        ""
    );
    assert_eq!(
        listed
            .iter()
            .find(|g| g.group_id == "stable")
            .unwrap()
            .protocol_type,
        "consumer"
    );
}

#[test]
fn describe_shows_metadata_and_assignments_only_when_stable() {
    let mut broker = Broker::new();
    let (member, ticket, out) = broker.join_new("g", "client-1");
    join_reply(&out, ticket);
    let described = broker.coordinator.describe_group("g");
    assert_eq!(described.state, GroupState::CompletingRebalance);
    assert_eq!(described.protocol, "");
    assert!(described.members[0].metadata.is_empty());

    broker.sync(&super::test_support::sync_request(
        "g",
        1,
        &member,
        &[(&member, "p")],
    ));
    let described = broker.coordinator.describe_group("g");
    assert_eq!(described.state.name(), "Stable");
    assert_eq!(described.protocol_type, "consumer");
    assert_eq!(described.protocol, "range");
    let m = &described.members[0];
    assert_eq!(m.member_id, member);
    assert_eq!(m.client_id, "client-1");
    assert_eq!(m.client_host, join_request("g", "", "client-1").client_host);
    assert_eq!(m.metadata, metadata("client-1"));
    assert_eq!(&m.assignment[..], b"p");

    let unknown = broker.coordinator.describe_group("nope");
    assert_eq!(unknown.state, GroupState::Dead);
    assert!(unknown.members.is_empty());
}

#[test]
fn the_snapshot_holds_everything_the_admin_api_shows() {
    let mut broker = Broker::new();
    let (member, generation) = broker.stable_single("g", "c1");
    broker.coordinator.commit_offsets(
        &super::requests::CommitRequest {
            group_id: "g".to_owned(),
            generation_id: generation,
            member_id: member.clone(),
            group_instance_id: None,
            offsets: vec![super::requests::OffsetToCommit {
                topic: "t".to_owned(),
                partition: 3,
                offset: 10,
                leader_epoch: -1,
                metadata: None,
            }],
        },
        broker.now,
    );
    let snapshot = &broker.coordinator.snapshot()[0];
    assert_eq!(snapshot.state, GroupState::Stable);
    assert_eq!(snapshot.generation_id, generation);
    assert_eq!(snapshot.leader.as_deref(), Some(member.as_str()));
    assert_eq!(snapshot.protocol.as_deref(), Some("range"));
    assert_eq!(snapshot.members[0].session_timeout_ms, SESSION_MS);
    assert_eq!(&snapshot.members[0].assignment[..], b"a");
    assert_eq!(snapshot.offsets[0].0, "t");
    assert_eq!(
        (snapshot.offsets[0].1, snapshot.offsets[0].2.offset),
        (3, 10)
    );
    assert_eq!(snapshot.offsets[0].2.metadata, "");
}
