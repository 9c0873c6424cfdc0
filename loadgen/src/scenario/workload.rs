//! The `[workload]` table: the messages sent and the producer instances sending them.

use serde::Deserialize;

use super::fields;
use super::keys::Keys;
use super::message_size::MessageSize;
use super::window::Window;

/// The `[workload]` table: the messages and the producer instances sending them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// The topic every message goes to.
    #[serde(deserialize_with = "fields::topic_name")]
    pub topic: String,
    /// Partitions the topic is created with on the embedded broker.
    #[serde(deserialize_with = "fields::partitions")]
    pub partitions: u32,
    /// Producer instances, each with its own connection; they share each phase's rate.
    #[serde(deserialize_with = "fields::producers")]
    pub producers: u32,
    /// Bytes of each message's value, the 16-byte message id included: fixed, or drawn per message.
    pub message_size: MessageSize,
    /// Which keys messages carry.
    pub keys: Keys,
    /// Mixed into the seed of every producer instance's random draws (keys, value sizes).
    pub seed: u64,
    /// Headers per message.
    #[serde(deserialize_with = "fields::headers")]
    pub headers: u32,
    /// Sends each producer instance keeps outstanding at most: by default
    /// what its `buffer_memory` holds, or `in_flight = N` messages.
    #[serde(deserialize_with = "fields::in_flight")]
    pub in_flight: Window,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            topic: "bench".into(),
            partitions: 1,
            producers: 1,
            message_size: MessageSize::default(),
            keys: Keys::None,
            seed: 0,
            headers: 0,
            in_flight: Window::BufferMemory,
        }
    }
}
