//! When a connection has taken too long over a request: its first request
//! must be complete `first_request_timeout_ms` after the connection was
//! accepted, and every request `request_timeout_ms` after its first byte
//! arrived (so a client trickling a request byte by byte, a "slowloris",
//! cannot hold a connection and its buffer forever). Pure: the connection
//! tells it what happened and when, and asks for the next deadline.

use std::time::{Duration, Instant};

/// Which time limit a deadline enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// No request completed within `first_request_timeout_ms` of the accept.
    FirstRequest,
    /// A request did not arrive whole within `request_timeout_ms` of its first byte.
    Request,
}

impl Expiry {
    /// The configuration key of the limit.
    pub(crate) fn limit(self) -> &'static str {
        match self {
            Expiry::FirstRequest => "first_request_timeout_ms",
            Expiry::Request => "request_timeout_ms",
        }
    }
}

/// One connection's request deadlines.
#[derive(Debug, Clone)]
pub(crate) struct RequestTimer {
    first_request: Option<Duration>,
    request: Option<Duration>,
    accepted: Instant,
    /// Whether a request has been completed.
    answered: bool,
    /// When the first byte of the request still incomplete arrived.
    started: Option<Instant>,
}

impl RequestTimer {
    /// The timer of a connection accepted at `accepted`, with the two limits (`None`: no limit).
    pub(crate) fn new(
        first_request: Option<Duration>,
        request: Option<Duration>,
        accepted: Instant,
    ) -> RequestTimer {
        RequestTimer {
            first_request,
            request,
            accepted,
            answered: false,
            started: None,
        }
    }

    /// Notes what handling the buffer did: whether it `completed` a request,
    /// and whether bytes of an incomplete one are `pending`, the newest of
    /// which arrived with the read at `last_read`.
    pub(crate) fn handled(&mut self, completed: bool, pending: bool, last_read: Instant) {
        if completed {
            self.answered = true;
            // What is left arrived after the completed request's last byte: with the last read.
            self.started = pending.then_some(last_read);
        } else if pending {
            self.started.get_or_insert(last_read);
        } else {
            self.started = None;
        }
    }

    /// The next deadline, and which limit it enforces, if any applies.
    pub(crate) fn deadline(&self) -> Option<(Instant, Expiry)> {
        let first = (!self.answered)
            .then_some(self.first_request)
            .flatten()
            .map(|limit| (self.accepted + limit, Expiry::FirstRequest));
        let request = self
            .started
            .zip(self.request)
            .map(|(started, limit)| (started + limit, Expiry::Request));
        match (first, request) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_secs(10);
    const REQUEST: Duration = Duration::from_secs(30);

    #[test]
    fn a_new_connection_has_until_the_first_request_timeout() {
        let t0 = Instant::now();
        let mut timer = RequestTimer::new(Some(FIRST), Some(REQUEST), t0);
        assert_eq!(timer.deadline(), Some((t0 + FIRST, Expiry::FirstRequest)));
        // Part of a request does not move it.
        timer.handled(false, true, t0 + Duration::from_secs(1));
        assert_eq!(timer.deadline(), Some((t0 + FIRST, Expiry::FirstRequest)));
        // Once one is complete only the request timeout is left, and only while one is pending.
        timer.handled(true, false, t0 + Duration::from_secs(2));
        assert_eq!(timer.deadline(), None);
    }

    #[test]
    fn a_request_has_until_the_request_timeout_from_its_first_byte() {
        let t0 = Instant::now();
        let mut timer = RequestTimer::new(None, Some(REQUEST), t0);
        assert_eq!(timer.deadline(), None, "no first-request limit");
        let first_byte = t0 + Duration::from_secs(5);
        timer.handled(false, true, first_byte);
        // Trickling more bytes does not move the deadline.
        timer.handled(false, true, first_byte + Duration::from_secs(20));
        assert_eq!(
            timer.deadline(),
            Some((first_byte + REQUEST, Expiry::Request))
        );
        // A read that completes it and brings the start of the next one starts the next clock.
        let next = t0 + Duration::from_secs(40);
        timer.handled(true, true, next);
        assert_eq!(timer.deadline(), Some((next + REQUEST, Expiry::Request)));
        timer.handled(true, false, next);
        assert_eq!(timer.deadline(), None);
    }

    #[test]
    fn the_earlier_of_both_deadlines_comes_first() {
        let t0 = Instant::now();
        let mut timer = RequestTimer::new(Some(FIRST), Some(Duration::from_secs(3)), t0);
        timer.handled(false, true, t0 + Duration::from_secs(1));
        assert_eq!(
            timer.deadline(),
            Some((t0 + Duration::from_secs(4), Expiry::Request))
        );
    }
}
