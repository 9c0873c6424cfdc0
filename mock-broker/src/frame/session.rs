//! One frame protocol connection's session: splits the buffer into frames
//! and answers each (see `docs/frame-protocol.md`).
//!
//! Frames are handled in arrival order. A frame that cannot be decoded is
//! answered with its error status; when the stream can no longer be trusted
//! after it, the connection is closed too.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use protocol::frame::{self, Frame, FrameAcks, ProduceRequest, ProduceResponse, Status};

use super::error::CloseReason;
use super::produce::{self, MessageLimits};
use crate::client::ClientSlot;
use crate::clock::now_ms;
use crate::fault::{ApiScope, FaultDisconnect, FaultReply, ProtocolScope, RequestName};
use crate::state::BrokerState;
use crate::step::Step;
use crate::store::Protocol;

/// A frame protocol connection's state.
#[derive(Debug)]
pub(crate) struct Session {
    peer: SocketAddr,
    node_id: i32,
    client: ClientSlot,
}

impl Session {
    /// A session for the client at `peer`, accepted by broker `node_id`.
    pub(crate) fn new(peer: SocketAddr, node_id: i32) -> Self {
        Session {
            peer,
            node_id,
            client: ClientSlot::new(peer, Protocol::Frame),
        }
    }

    /// Handles the next whole frame in `buffer`, if there is one, appending
    /// its response to `out`.
    pub(crate) fn next(
        &mut self,
        buffer: &mut BytesMut,
        out: &mut BytesMut,
        state: &BrokerState,
    ) -> Step<CloseReason> {
        let peer = self.peer;
        let mut hold = None;
        let mut close = None;
        let reply = match frame::parse(buffer, state.config.max_frame_bytes) {
            Ok(None) => return Step::Incomplete,
            Ok(Some(Frame::ProduceRequest(request))) => {
                match produce::over_limit(&request, state.config.record_limits()) {
                    // Answered and closed like any request the broker will not take, whatever its acks.
                    Some((limit, reason)) => {
                        state.refusals.refused(limit, peer, &reason);
                        state
                            .stats
                            .error(Protocol::Frame, Status::InvalidRequest.name());
                        let response = ProduceResponse::error(
                            request.correlation_id,
                            Status::InvalidRequest,
                            &reason,
                        );
                        close = Some(CloseReason::OverLimit(reason));
                        Some(response)
                    }
                    None => match self.produce(request, state) {
                        Ok((response, delay)) => {
                            hold = delay;
                            response
                        }
                        Err(disconnect) => return Step::Close(disconnect.into(), None),
                    },
                }
            }
            Ok(Some(other)) => {
                close = Some(CloseReason::ResponseFrame);
                state
                    .stats
                    .error(Protocol::Frame, Status::InvalidRequest.name());
                Some(ProduceResponse::error(
                    other.correlation_id(),
                    Status::InvalidRequest,
                    "the broker accepts only produce requests",
                ))
            }
            Err(e) => {
                state.stats.error(Protocol::Frame, e.status().name());
                let response = ProduceResponse::error(
                    e.correlation_id().unwrap_or(0),
                    e.status(),
                    e.to_string(),
                );
                if e.is_fatal() {
                    close = Some(CloseReason::Frame(e));
                } else {
                    tracing::debug!(%peer, error = %e, "skipped a frame");
                }
                Some(response)
            }
        };
        if let Some(response) = reply
            && let Err(e) = response.encode(out)
        {
            tracing::error!(%peer, error = %e, "could not encode a response; closing");
            close = Some(CloseReason::Encode(e));
        }
        match close {
            Some(reason) => Step::Close(reason, hold),
            None => Step::Answered(hold),
        }
    }

    /// Records a produce request, or answers it with a fault's error; the
    /// response (none for acks=0) and how long to hold it back.
    fn produce(
        &mut self,
        request: ProduceRequest,
        state: &BrokerState,
    ) -> Result<(Option<ProduceResponse>, Option<Duration>), FaultDisconnect> {
        let peer = self.peer;
        state
            .stats
            .request(Protocol::Frame, "Produce", i16::from(frame::VERSION));
        let correlation_id = request.correlation_id;
        // Placement left to the broker matches only rules without a partition.
        let touches = |topic: Option<&str>, partition: Option<u32>| {
            topic.is_none_or(|t| t == request.topic)
                && partition.is_none_or(|p| request.partition == Some(p))
        };
        let fault = FaultReply::consult(
            &state.faults,
            ProtocolScope::Frame,
            self.node_id,
            ApiScope::Produce,
            &touches,
            RequestName::Frame { correlation_id },
        )?;
        let acks = request.acks;
        let response = match fault.frame_error() {
            Some(status) => {
                tracing::debug!(%peer, status = status.name(), "fault: answered with an error");
                ProduceResponse::error(
                    correlation_id,
                    status,
                    format!("injected by a fault rule: {}", status.name()),
                )
            }
            None => {
                let client_id =
                    (!request.client_id.is_empty()).then_some(request.client_id.as_str());
                let client = self.client.get(client_id);
                let limits = MessageLimits {
                    max_message_bytes: state.config.max_message_bytes,
                };
                produce::handle(
                    request,
                    client,
                    &state.store,
                    &state.stats,
                    limits,
                    now_ms(),
                )
            }
        };
        let hold = fault.after()?;
        if response.status != Status::Ok {
            state.stats.error(Protocol::Frame, response.status.name());
        }
        let response = match acks {
            FrameAcks::Recorded => Some(response),
            FrameAcks::None => {
                if response.status != Status::Ok {
                    tracing::warn!(%peer, status = %response.status, reason = %response.error_message,
                        "refused an acks=0 request; the client is not told");
                }
                None
            }
        };
        Ok((response, hold))
    }
}
