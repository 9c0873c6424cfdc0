//! Kafka's rules for topic names, shared by the producer and the mock broker.

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Checks `name` against Kafka's topic-name rules.
///
/// # Errors
/// A sentence saying which rule `name` breaks.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("topic name {name:?} is not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(format!(
            "topic name is {} characters long; the limit is {MAX_TOPIC_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name {name:?} contains {bad:?}; allowed are ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kafka_style_names() {
        for name in ["demo", "a.b_c-D9", &"x".repeat(249)] {
            assert_eq!(validate_topic_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_what_kafka_rejects_and_says_why() {
        assert!(validate_topic_name("").unwrap_err().contains("empty"));
        assert!(
            validate_topic_name("..")
                .unwrap_err()
                .contains("not allowed")
        );
        assert!(
            validate_topic_name(&"x".repeat(250))
                .unwrap_err()
                .contains("250")
        );
        assert!(validate_topic_name("bad name").unwrap_err().contains("' '"));
        assert!(validate_topic_name("tö").unwrap_err().contains("'ö'"));
    }
}
