//! The server side of a TLS handshake on an accepted socket: bounded in time
//! (`tls_handshake_timeout_ms`), and refused like any other limit when it fails or takes too
//! long, counted in `/stats` and logged (throttled, see `refusals.rs`) saying what went wrong,
//! such as a client that does not speak TLS at all.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::listener::SecurityProtocol;
use crate::state::BrokerState;

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The `/stats` `refused` key of handshakes that failed (a client that does not speak TLS,
/// or one that does not finish a valid handshake).
pub(crate) const HANDSHAKE_FAILED: &str = "tls_handshake";

/// The `/stats` `refused` key of handshakes not completed in time: the configuration key.
pub(crate) const HANDSHAKE_TIMEOUT: &str = "tls_handshake_timeout_ms";

/// Completes the handshake of the client at `peer` on a `protocol` listener; `None` when it
/// cannot (refused and counted in `state.refusals`, unless the client just left), and the
/// connection is then closed.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    protocol: SecurityProtocol,
    state: &BrokerState,
) -> Option<TlsStream<TcpStream>> {
    let timeout_ms = state.config.tls_handshake_timeout_ms;
    let deadline = state
        .config
        .tls_handshake_timeout()
        .map(|limit| tokio::time::Instant::now() + limit);
    let timed_out = || {
        state.refusals.refused(
            HANDSHAKE_TIMEOUT,
            peer,
            &format!(
                "closing the connection: the TLS handshake on the {protocol} listener did not complete within tls_handshake_timeout_ms = {timeout_ms} ms"
            ),
        );
    };
    let mut first = [0u8; 1];
    match within(deadline, stream.peek(&mut first)).await {
        Some(Ok(0)) => {
            tracing::debug!(%peer, %protocol, "client left before the TLS handshake");
            return None;
        }
        Some(Ok(_)) if first[0] != TLS_HANDSHAKE_RECORD => {
            state.refusals.refused(
                HANDSHAKE_FAILED,
                peer,
                &format!(
                    "closing the connection: a client that does not speak TLS connected to the {protocol} listener (its first byte is {:#04x}, not a TLS handshake record; is it configured for PLAINTEXT or SASL_PLAINTEXT?)",
                    first[0]
                ),
            );
            return None;
        }
        Some(Ok(_)) => {}
        Some(Err(e)) => {
            tracing::debug!(%peer, error = %e, "connection failed before the TLS handshake");
            return None;
        }
        None => {
            timed_out();
            return None;
        }
    }
    // The socket is held until the refusal is counted (a failed handshake gives it back; a
    // timed-out one is still in `accepting`), so a client that sees the close sees the count.
    let accepting = acceptor.accept(stream).into_fallible();
    tokio::pin!(accepting);
    match within(deadline, &mut accepting).await {
        Some(Ok(stream)) => Some(stream),
        Some(Err((e, _stream))) => {
            state.refusals.refused(
                HANDSHAKE_FAILED,
                peer,
                &format!(
                    "closing the connection: the TLS handshake on the {protocol} listener failed: {e} (does the client trust the broker's certificate?)"
                ),
            );
            None
        }
        None => {
            timed_out();
            None
        }
    }
}

/// `future`'s output, or `None` if `deadline` passed first.
async fn within<F: Future>(deadline: Option<tokio::time::Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}
