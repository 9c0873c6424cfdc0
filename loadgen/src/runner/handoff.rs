//! How an issuer hands its sends to its lane's collector: in chunks, so that
//! the collector is woken once per chunk rather than once per message.
//!
//! A chunk goes out when it is full, whenever the issuer is about to wait
//! (for its window, for the producer, or for the next message's due time),
//! and when the handoff is dropped. So the collector learns of a send at the
//! latest [`CHUNK`] sends later or as soon as the issuer pauses: long before a
//! batch of them can be acknowledged (the producer sends a batch when it is
//! full or after `linger_ms`), so the acknowledgement times it records are
//! not delayed by the chunking.

use tokio::sync::mpsc;

use super::lane::InFlight;

/// Sends per chunk at most.
pub(super) const CHUNK: usize = 128;

/// The issuer's end of the way to the collector.
#[derive(Debug)]
pub(super) struct Handoff {
    chunk: Vec<InFlight>,
    to: mpsc::UnboundedSender<Vec<InFlight>>,
}

impl Handoff {
    /// A handoff into `to`, the collector's receiver's sender.
    pub(super) fn new(to: mpsc::UnboundedSender<Vec<InFlight>>) -> Handoff {
        Handoff {
            chunk: Vec::with_capacity(CHUNK),
            to,
        }
    }

    /// Adds a send; hands the chunk over when it is full.
    pub(super) fn push(&mut self, in_flight: InFlight) {
        self.chunk.push(in_flight);
        if self.chunk.len() >= CHUNK {
            self.flush();
        }
    }

    /// Hands over the sends gathered so far; call it before waiting.
    pub(super) fn flush(&mut self) {
        if !self.chunk.is_empty() {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            // The collector outlives its issuers unless the run is being abandoned.
            let _ = self.to.send(chunk);
        }
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        self.flush();
    }
}
