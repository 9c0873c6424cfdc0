//! Writing one Kafka response: the size prefix, the header, the body, and
//! what a fault verdict puts in it (an error code, a throttle).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use super::error::CloseReason;
use super::fault_response::FaultableResponse;
use crate::fault::FaultReply;
use crate::outgoing::Outgoing;
use crate::state::BrokerState;
use crate::store::Protocol;

/// Where and how one request's response is written, faults applied.
pub(crate) struct Responder<'a> {
    /// Where the response goes.
    pub(crate) out: &'a mut Outgoing,
    /// The request's correlation id.
    pub(crate) correlation_id: i32,
    /// The response header's version.
    pub(crate) header_version: i16,
    /// The request's (and so the response's) version.
    pub(crate) version: i16,
    /// The request's API.
    pub(crate) api_key: ApiKey,
    /// The broker's shared state, for its counters.
    pub(crate) state: &'a BrokerState,
    /// The client, for the log.
    pub(crate) peer: SocketAddr,
}

impl Responder<'_> {
    /// Writes `response` (none for acks=0) with the fault's error and
    /// throttle applied, or closes the connection instead for a
    /// `disconnect when = "after"`; how long to hold it back otherwise.
    pub(crate) fn send<R: WriteResponse>(
        self,
        fault: FaultReply,
        response: Option<R>,
    ) -> Result<Option<Duration>, CloseReason> {
        let hold = fault.after()?;
        let Some(mut response) = response else {
            return Ok(hold);
        };
        if let Some(code) = fault.kafka_error() {
            response.set_error(code, self.version);
            let name = protocol::kafka_error::error_name(code);
            self.state.stats.error(Protocol::Kafka, &name);
            tracing::debug!(peer = %self.peer, api = ?self.api_key, error = %name, "fault: answered with an error");
        }
        if let Some(ms) = fault.throttle_ms() {
            response.throttle(ms, self.version);
        }
        response.write_response(
            self.out,
            self.correlation_id,
            self.header_version,
            self.version,
        )?;
        Ok(hold)
    }
}

/// A response body that writes itself, size prefix and header first.
pub(crate) trait WriteResponse: FaultableResponse {
    /// Appends the size-prefixed response to `out`.
    ///
    /// # Errors
    /// [`CloseReason::Encode`] when it does not encode (a broker bug).
    fn write_response(
        &self,
        out: &mut Outgoing,
        correlation_id: i32,
        header_version: i16,
        version: i16,
    ) -> Result<(), CloseReason>;
}

impl<R: Encodable + FaultableResponse> WriteResponse for R {
    fn write_response(
        &self,
        out: &mut Outgoing,
        correlation_id: i32,
        header_version: i16,
        version: i16,
    ) -> Result<(), CloseReason> {
        write_response(out.writer(), correlation_id, header_version, version, self)
    }
}

/// Appends a size-prefixed response: header at `header_version`, body at `version`.
///
/// # Errors
/// [`CloseReason::Encode`]; `out` is left as it was.
pub(crate) fn write_response<R: Encodable>(
    out: &mut BytesMut,
    correlation_id: i32,
    header_version: i16,
    version: i16,
    body: &R,
) -> Result<(), CloseReason> {
    let start = out.len();
    out.put_i32(0);
    let encoded = ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(out, header_version)
        .and_then(|()| body.encode(out, version));
    if let Err(error) = encoded {
        out.truncate(start);
        // A response the broker cannot encode is a broker bug: say so loudly.
        tracing::error!(correlation_id, version, error = %error, "cannot encode a response");
        return Err(CloseReason::Encode {
            correlation_id,
            error,
        });
    }
    let size = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}
