//! `[workload] in_flight`: how many sends each producer instance keeps
//! outstanding, its *window*.

use std::fmt;

/// How many sends each producer instance keeps outstanding at most.
///
/// By default the window is the producer's own `buffer_memory`: a send
/// waits while the producer holds that many bytes of unsettled records, so
/// the window is in bytes and grows with the producer's buffer rather than
/// capping a closed-loop run at a message count. A count of messages is
/// for measuring with a fixed number of sends outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// As many as the producer's `buffer_memory` holds (the default).
    #[default]
    BufferMemory,
    /// At most this many messages (`in_flight = N`), and never more than
    /// `buffer_memory` holds.
    Messages(u32),
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::BufferMemory => f.write_str("buffer_memory"),
            Window::Messages(n) => write!(f, "{n}"),
        }
    }
}
