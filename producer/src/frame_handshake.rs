//! The frame protocol's first exchange on a new connection: a ping, answered by a pong within the
//! connect timeout, so that a peer that is not a frame broker (another protocol, garbage,
//! silence) is named before any record is sent to it.

use std::time::Duration;

use bytes::BytesMut;
use protocol::frame::{HEADER_LEN, Ping, Status};

use crate::error::Error;
use crate::link::Link;
use crate::wire::{FrameResponse, FrameWire};

/// Pings the broker at `address` over a fresh `link` with `correlation_id` and waits up to
/// `timeout` for its answer.
///
/// # Errors
/// [`Error::NoAnswer`] after `timeout`; [`Error::NotABroker`] when another protocol answered;
/// [`Error::Protocol`] for an answer that is not a pong; [`Error::ConnectionClosed`].
pub(crate) async fn greet(
    link: &Link<FrameWire>,
    address: &str,
    correlation_id: u32,
    timeout: Duration,
) -> Result<(), Error> {
    let mut ping = BytesMut::with_capacity(HEADER_LEN);
    Ping { correlation_id }.encode(&mut ping)?;
    let answer = tokio::time::timeout(
        timeout,
        link.round_trip(correlation_id, vec![ping.freeze()]),
    )
    .await
    .map_err(|_| Error::NoAnswer {
        address: address.to_string(),
        request: "a frame-protocol ping",
        timeout,
    })??;
    match answer {
        FrameResponse::Pong => Ok(()),
        // A broker older than pings says it does not know the kind: it speaks frames.
        FrameResponse::Produce(response) if response.status == Status::UnsupportedKind => Ok(()),
        FrameResponse::Produce(response) => Err(Error::Protocol {
            address: address.to_string(),
            reason: format!(
                "it answered a ping with a produce response ({}{})",
                response.status,
                if response.error_message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", response.error_message)
                }
            ),
        }),
    }
}
