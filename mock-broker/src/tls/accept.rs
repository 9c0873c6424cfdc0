//! The server side of a TLS handshake on an accepted socket: bounded in time, and with a
//! log line saying what went wrong when a client does not speak TLS at all.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::listener::SecurityProtocol;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Completes the handshake of the client at `peer` on a `protocol` listener; `None` (the
/// reason logged) when it cannot, and the connection is then closed.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    protocol: SecurityProtocol,
) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(0)) => {
            tracing::debug!(%peer, %protocol, "client left before the TLS handshake");
            return None;
        }
        Ok(Ok(_)) if first[0] != TLS_HANDSHAKE_RECORD => {
            tracing::warn!(
                %peer,
                listener = %protocol,
                "a client that does not speak TLS connected to a TLS listener (is it configured for PLAINTEXT or SASL_PLAINTEXT? this listener is {protocol}); closing the connection"
            );
            return None;
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "connection failed before the TLS handshake");
            return None;
        }
        Err(_) => {
            tracing::warn!(%peer, timeout = ?HANDSHAKE_TIMEOUT, "client sent nothing to start the TLS handshake; closing the connection");
            return None;
        }
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::warn!(%peer, listener = %protocol, error = %e, "TLS handshake failed (does the client trust the broker's certificate?)");
            None
        }
        Err(_) => {
            tracing::warn!(%peer, timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake did not complete in time; closing the connection");
            None
        }
    }
}
