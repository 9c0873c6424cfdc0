//! Kafka's rules for topic names, shared by the producer and the mock broker.

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Which of Kafka's topic-name rules a name breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicNameError {
    /// The name is empty.
    #[error("topic name is empty")]
    Empty,
    /// The name is `.` or `..`.
    #[error("topic name {0:?} is not allowed")]
    Reserved(String),
    /// The name is longer than [`MAX_TOPIC_NAME_LEN`].
    #[error("topic name is {0} characters long; the limit is {MAX_TOPIC_NAME_LEN}")]
    TooLong(usize),
    /// The name holds a character outside ASCII letters, digits, `.`, `_` and `-`.
    #[error(
        "topic name {name:?} contains {found:?}; allowed are ASCII letters, digits, '.', '_' and '-'"
    )]
    BadCharacter {
        /// The name.
        name: String,
        /// The first character that is not allowed.
        found: char,
    },
}

/// The sentence, for callers that keep errors as text (this was the error type before it was
/// typed, so `?` into a `String` error still works).
impl From<TopicNameError> for String {
    fn from(error: TopicNameError) -> String {
        error.to_string()
    }
}

/// Checks `name` against Kafka's topic-name rules.
///
/// # Errors
/// [`TopicNameError`] saying which rule `name` breaks.
pub fn validate_topic_name(name: &str) -> Result<(), TopicNameError> {
    if name.is_empty() {
        return Err(TopicNameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(TopicNameError::Reserved(name.to_string()));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(TopicNameError::TooLong(name.len()));
    }
    if let Some(found) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(TopicNameError::BadCharacter {
            name: name.to_string(),
            found,
        });
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
        assert!(
            validate_topic_name("")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(
            validate_topic_name("..")
                .unwrap_err()
                .to_string()
                .contains("not allowed")
        );
        assert!(
            validate_topic_name(&"x".repeat(250))
                .unwrap_err()
                .to_string()
                .contains("250")
        );
        assert!(
            validate_topic_name("bad name")
                .unwrap_err()
                .to_string()
                .contains("' '")
        );
        assert!(
            validate_topic_name("tö")
                .unwrap_err()
                .to_string()
                .contains("'ö'")
        );
    }
}
