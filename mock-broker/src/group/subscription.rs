//! The topics a consumer subscribes to, read from its JoinGroup metadata.
//!
//! Members of a `consumer` group send a ConsumerProtocolSubscription as their protocol
//! metadata. Kafka reads it with version 0's schema, the prefix of every version
//! (version, then the topics as an array of strings, then user data), so later versions
//! read the same; only the topics are needed here.

/// The topics in a ConsumerProtocolSubscription, or `None` when it does not parse.
pub(crate) fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut rest = metadata;
    let _version = take::<2>(&mut rest)?;
    let count = i32::from_be_bytes(take::<4>(&mut rest)?);
    let count = usize::try_from(count).ok()?;
    let mut topics = Vec::with_capacity(count.min(rest.len() / 2));
    for _ in 0..count {
        let len = i16::from_be_bytes(take::<2>(&mut rest)?);
        let len = usize::try_from(len).ok()?;
        if rest.len() < len {
            return None;
        }
        let (name, tail) = rest.split_at(len);
        topics.push(String::from_utf8(name.to_vec()).ok()?);
        rest = tail;
    }
    // User data (nullable bytes) must be there too, as version 0's schema requires.
    let user_data = i32::from_be_bytes(take::<4>(&mut rest)?);
    if user_data > 0 && rest.len() < user_data as usize {
        return None;
    }
    Some(topics)
}

/// Splits `N` bytes off the front of `rest`.
fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = rest.split_first_chunk::<N>()?;
    *rest = tail;
    Some(*head)
}
