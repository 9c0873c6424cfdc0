//! The id at the start of every message's value: which producer instance sent
//! it and its place in that instance's messages.
//!
//! [`payload`](crate::payload) writes it, the delivery [`audit`](crate::audit)
//! reads it back, and the scenario's smallest `message_size` is its length.
//! Layout (integers big-endian): producer instance index (u32), sequence
//! (u64), 4 reserved bytes written as zero.

use bytes::BufMut;

/// Bytes of the id at the start of every value.
pub const ID_LEN: usize = 16;

/// Identifies one message of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    /// The producer instance that sent it.
    pub producer: u32,
    /// Its position in that instance's messages, counting from 0.
    pub sequence: u64,
}

impl MessageId {
    /// Writes the 16-byte id.
    pub fn write(self, dst: &mut impl BufMut) {
        dst.put_u32(self.producer);
        dst.put_u64(self.sequence);
        dst.put_u32(0);
    }

    /// Reads the id back from the start of a value; `None` when it is shorter than [`ID_LEN`].
    pub fn parse(value: &[u8]) -> Option<MessageId> {
        let id = value.get(..ID_LEN)?;
        Some(MessageId {
            producer: u32::from_be_bytes(id[0..4].try_into().ok()?),
            sequence: u64::from_be_bytes(id[4..12].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_layout_is_big_endian_producer_then_sequence() {
        let mut buf = Vec::new();
        MessageId {
            producer: 0x0102_0304,
            sequence: 0x0506_0708_090A_0B0C,
        }
        .write(&mut buf);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]);
    }
}
