//! The one place a fault verdict is applied, for both protocols.
//!
//! A session asks [`FaultReply::consult`] about each request before handling
//! it: a `disconnect when = "before"` closes the connection there and then.
//! The session then handles the request, or answers with the injected error
//! ([`FaultReply::kafka_error`], [`FaultReply::frame_error`]), and calls
//! [`FaultReply::after`] before answering: a `disconnect when = "after"`
//! closes the connection instead, and otherwise it says how long a `latency`
//! fault holds the response back. How an error or a throttle is written into
//! a response is the protocol's business.

use std::fmt;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use protocol::frame::Status;

use super::error_code::InjectedError;
use super::registry::Faults;
use super::spec::{ApiScope, ProtocolScope, When};
use super::verdict::{RequestFacts, Verdict};

/// The request a fault acted on, as the log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestName {
    /// A Kafka request.
    Kafka {
        /// Its API.
        api: ApiKey,
        /// Its correlation id.
        correlation_id: i32,
    },
    /// A frame protocol produce request.
    Frame {
        /// Its correlation id.
        correlation_id: u32,
    },
}

impl fmt::Display for RequestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestName::Kafka {
                api,
                correlation_id,
            } => write!(f, "{api:?} (correlation id {correlation_id})"),
            RequestName::Frame { correlation_id } => write!(f, "produce frame {correlation_id}"),
        }
    }
}

/// A `disconnect` fault closed the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FaultDisconnect {
    /// Before the request was handled: nothing of it was recorded.
    #[error("fault: disconnect before handling {0}")]
    Before(RequestName),
    /// After the request was handled, before it was answered.
    #[error("fault: disconnect after handling {0}, before answering")]
    After(RequestName),
}

/// What a request names, for rules scoped by `group` and `transactional_id`.
#[derive(Clone, Copy)]
pub(crate) struct Names<'a> {
    /// Whether the request names this consumer group.
    pub(crate) group: &'a dyn Fn(&str) -> bool,
    /// Whether the request names this transactional id.
    pub(crate) transaction: &'a dyn Fn(&str) -> bool,
}

impl Names<'_> {
    /// A request that names neither.
    pub(crate) const NONE: Names<'static> = Names {
        group: &|_| false,
        transaction: &|_| false,
    };
}

/// The fault verdict on one request, while the request is handled.
#[derive(Debug)]
#[must_use = "call `after` before answering"]
pub(crate) struct FaultReply {
    verdict: Verdict,
    request: RequestName,
}

impl FaultReply {
    /// Fires the per-request rules that cover the request (none are consulted
    /// while no per-request rule may fire).
    ///
    /// `touches` says whether the request touches a topic and partition
    /// (each `None` = any).
    ///
    /// # Errors
    /// [`FaultDisconnect::Before`]: close the connection without handling the request.
    pub(crate) fn consult(
        faults: &Faults,
        protocol: ProtocolScope,
        broker: i32,
        api: ApiScope,
        touches: &dyn Fn(Option<&str>, Option<u32>) -> bool,
        request: RequestName,
    ) -> Result<FaultReply, FaultDisconnect> {
        FaultReply::consult_group(faults, protocol, broker, api, touches, Names::NONE, request)
    }

    /// [`FaultReply::consult`] for a request that names consumer groups or transactional ids:
    /// `names` says whether it names one, for rules scoped by `group` or `transactional_id`.
    ///
    /// # Errors
    /// [`FaultDisconnect::Before`]: close the connection without handling the request.
    pub(crate) fn consult_group(
        faults: &Faults,
        protocol: ProtocolScope,
        broker: i32,
        api: ApiScope,
        touches: &dyn Fn(Option<&str>, Option<u32>) -> bool,
        names: Names<'_>,
        request: RequestName,
    ) -> Result<FaultReply, FaultDisconnect> {
        let verdict = if faults.any_per_request() {
            faults.on_request(&RequestFacts {
                protocol,
                broker,
                api,
                touches,
                names_group: names.group,
                names_transaction: names.transaction,
            })
        } else {
            Verdict::default()
        };
        FaultReply::new(verdict, request)
    }

    /// Applies `verdict` to `request`.
    ///
    /// # Errors
    /// [`FaultDisconnect::Before`]: close the connection without handling the request.
    pub(crate) fn new(
        verdict: Verdict,
        request: RequestName,
    ) -> Result<FaultReply, FaultDisconnect> {
        if verdict.disconnect == Some(When::Before) {
            return Err(FaultDisconnect::Before(request));
        }
        Ok(FaultReply { verdict, request })
    }

    /// An error the broker itself answers `request` with instead of handling it, written
    /// into the API's response as a rule's error is (ILLEGAL_SASL_STATE for a request during
    /// SASL authentication); no rule is consulted.
    pub(crate) fn imposed(kafka_error: i16, request: RequestName) -> FaultReply {
        let verdict = Verdict {
            error: Some(InjectedError {
                kafka: Some(kafka_error),
                frame: None,
            }),
            ..Verdict::default()
        };
        FaultReply { verdict, request }
    }

    /// The Kafka error to answer with instead of handling the request.
    pub(crate) fn kafka_error(&self) -> Option<i16> {
        self.verdict.error.and_then(|e| e.kafka)
    }

    /// The frame status to answer with instead of handling the request.
    pub(crate) fn frame_error(&self) -> Option<Status> {
        self.verdict.error.and_then(|e| e.frame)
    }

    /// The `throttle_time_ms` to put in the response.
    pub(crate) fn throttle_ms(&self) -> Option<i32> {
        self.verdict.throttle_ms
    }

    /// Called once the request is handled, before it is answered: how long
    /// to hold the response back (a `latency` fault), if at all.
    ///
    /// # Errors
    /// [`FaultDisconnect::After`]: close the connection instead of answering.
    pub(crate) fn after(&self) -> Result<Option<Duration>, FaultDisconnect> {
        if self.verdict.disconnect == Some(When::After) {
            return Err(FaultDisconnect::After(self.request));
        }
        Ok(self.verdict.delay)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use super::*;
    use crate::cluster::Cluster;
    use crate::fault::FaultSpec;
    use crate::stats::Stats;

    const KAFKA: RequestName = RequestName::Kafka {
        api: ApiKey::Produce,
        correlation_id: 7,
    };
    const FRAME: RequestName = RequestName::Frame { correlation_id: 9 };

    fn verdict(disconnect: Option<When>, delay_ms: Option<u64>) -> Verdict {
        Verdict {
            disconnect,
            delay: delay_ms.map(Duration::from_millis),
            ..Verdict::default()
        }
    }

    #[test]
    fn disconnect_before_closes_before_handling_in_both_protocols() {
        let kafka = FaultReply::new(verdict(Some(When::Before), Some(50)), KAFKA).unwrap_err();
        assert_eq!(kafka, FaultDisconnect::Before(KAFKA));
        assert_eq!(
            kafka.to_string(),
            "fault: disconnect before handling Produce (correlation id 7)"
        );
        let frame = FaultReply::new(verdict(Some(When::Before), None), FRAME).unwrap_err();
        assert_eq!(
            frame.to_string(),
            "fault: disconnect before handling produce frame 9"
        );
    }

    #[test]
    fn disconnect_after_lets_the_request_be_handled_then_closes_instead_of_answering() {
        for (request, text) in [
            (
                KAFKA,
                "fault: disconnect after handling Produce (correlation id 7), before answering",
            ),
            (
                FRAME,
                "fault: disconnect after handling produce frame 9, before answering",
            ),
        ] {
            let reply = FaultReply::new(verdict(Some(When::After), Some(50)), request)
                .expect("handled first");
            let closed = reply.after().unwrap_err();
            assert_eq!(closed, FaultDisconnect::After(request));
            assert_eq!(closed.to_string(), text);
        }
    }

    #[test]
    fn latency_holds_the_response_back_and_no_fault_holds_nothing() {
        for request in [KAFKA, FRAME] {
            let held = FaultReply::new(verdict(None, Some(150)), request).unwrap();
            assert_eq!(held.after(), Ok(Some(Duration::from_millis(150))));
            let plain = FaultReply::new(Verdict::default(), request).unwrap();
            assert_eq!(plain.after(), Ok(None));
            assert_eq!(
                (
                    plain.kafka_error(),
                    plain.frame_error(),
                    plain.throttle_ms()
                ),
                (None, None, None)
            );
        }
    }

    fn faults() -> Faults {
        let listen = [SocketAddr::from(([127, 0, 0, 1], 1))];
        let cluster = Cluster::new("c".into(), &listen, None).unwrap();
        Faults::new(Arc::new(cluster), Arc::new(Stats::default()))
    }

    fn consult(faults: &Faults, protocol: ProtocolScope) -> Result<FaultReply, FaultDisconnect> {
        let request = match protocol {
            ProtocolScope::Kafka => KAFKA,
            ProtocolScope::Frame => FRAME,
        };
        FaultReply::consult(
            faults,
            protocol,
            1,
            ApiScope::Produce,
            &|_, _| true,
            request,
        )
    }

    #[test]
    fn consulting_the_rules_gives_each_protocol_its_own_verdict() {
        let faults = faults();
        assert_eq!(
            consult(&faults, ProtocolScope::Kafka).unwrap().after(),
            Ok(None)
        );
        faults
            .add(FaultSpec::disconnect(When::Before).with_protocol(ProtocolScope::Frame))
            .unwrap();
        faults.add(FaultSpec::latency(20)).unwrap();
        faults
            .add(FaultSpec::error("NOT_LEADER_OR_FOLLOWER"))
            .unwrap();
        faults.add(FaultSpec::throttle(30)).unwrap();
        assert_eq!(
            consult(&faults, ProtocolScope::Frame).unwrap_err(),
            FaultDisconnect::Before(FRAME)
        );
        let kafka = consult(&faults, ProtocolScope::Kafka).unwrap();
        assert_eq!(kafka.kafka_error(), Some(6));
        assert_eq!(kafka.throttle_ms(), Some(30));
        assert_eq!(kafka.after(), Ok(Some(Duration::from_millis(20))));
    }
}
