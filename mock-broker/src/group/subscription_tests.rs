//! Reading a consumer's subscribed topics from its JoinGroup metadata.

use super::subscription::subscribed_topics;
use super::test_support::subscription;

#[test]
fn topics_are_read_from_every_version() {
    for version in 0..=3 {
        assert_eq!(
            subscribed_topics(&subscription(version, &["a", "bb"])),
            Some(vec!["a".to_owned(), "bb".to_owned()])
        );
    }
}

#[test]
fn truncated_metadata_does_not_parse() {
    let full = subscription(0, &["topic"]);
    for cut in 0..full.len() {
        assert_eq!(subscribed_topics(&full[..cut]), None, "cut at {cut}");
    }
}
