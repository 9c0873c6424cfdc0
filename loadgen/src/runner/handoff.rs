//! How an issuer hands its sends to its lane's collector: in chunks, so that
//! the collector is woken once per chunk rather than once per message.
//!
//! A chunk goes out when it is full, when its first send is [`HOLD`] old,
//! whenever the issuer is about to wait (for its window, for the producer,
//! or for the next message's due time), and when the handoff is dropped. So
//! the collector learns of a send at most [`HOLD`] after it started. That
//! does not delay an acknowledgement's time: the collector records the moment
//! the producer read the broker's answer
//! ([`DeliveryFuture::settled_at`](producer::DeliveryFuture::settled_at)),
//! not the moment it came to the send.
//!
//! Waking the collector is the issuer's dearest step (a futex wake and, for
//! a parked runtime worker, an eventfd write and a context switch): with
//! chunks of 128 sends or 100 µs it was about a sixth of a closed-loop run's
//! time; with 1,024 sends or 1 ms, a chunk a millisecond at most.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::lane::InFlight;

/// Sends per chunk at most.
pub(super) const CHUNK: usize = 1024;

/// How long a send waits in a chunk at most (checked at the next send).
pub(super) const HOLD: Duration = Duration::from_millis(1);

/// The issuer's end of the way to the collector.
#[derive(Debug)]
pub(super) struct Handoff {
    chunk: Vec<InFlight>,
    /// When the chunk must go, [`HOLD`] after its first send started.
    due: Option<Instant>,
    to: mpsc::UnboundedSender<Vec<InFlight>>,
}

impl Handoff {
    /// A handoff into `to`, the collector's receiver's sender.
    pub(super) fn new(to: mpsc::UnboundedSender<Vec<InFlight>>) -> Handoff {
        Handoff {
            chunk: Vec::with_capacity(CHUNK),
            due: None,
            to,
        }
    }

    /// Adds a send that started at `sent`; hands the chunk over when it is
    /// full or its first send is [`HOLD`] old.
    pub(super) fn push(&mut self, in_flight: InFlight, sent: Instant) {
        self.chunk.push(in_flight);
        let due = *self.due.get_or_insert_with(|| sent + HOLD);
        if self.chunk.len() >= CHUNK || sent >= due {
            self.flush();
        }
    }

    /// Hands over the sends gathered so far; call it before waiting.
    pub(super) fn flush(&mut self) {
        self.due = None;
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
