//! One client connection: the only place the broker's bytes meet the socket.
//!
//! The first four bytes decide the protocol for the connection's whole life
//! (see `docs/frame-protocol.md`). Frames are handled in arrival order and
//! their responses written in that order; whatever complete frames a read
//! brought in are answered with one write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use producer::frame::{self, Frame, FrameAcks, ProduceResponse, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::frame_handler::{MessageLimits, handle_produce};
use crate::kafka;
use crate::record_store::{ClientInfo, Protocol};
use crate::server::BrokerState;

/// Below this much free space the read buffer grows, so reads stay large.
const MIN_READ_SPACE: usize = 8 * 1024;
const READ_CHUNK: usize = 64 * 1024;
/// How long a closing connection keeps draining input so that its last
/// responses are not destroyed by a TCP reset (see [`linger`]).
const LINGER: Duration = Duration::from_secs(2);

/// Serves one client until it leaves, breaks the protocol, or the broker shuts down.
pub(crate) async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    node_id: i32,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    while buffer.len() < 4 {
        if read_more(&mut stream, &mut buffer, &shutdown).await? == 0 {
            if !buffer.is_empty() {
                tracing::debug!(%peer, bytes = buffer.len(), "client left before sending a whole request");
            }
            return Ok(());
        }
    }
    if frame::starts_with_magic(&buffer) {
        serve_frames(&mut stream, buffer, peer, &state, &shutdown).await?;
        linger(stream).await;
        Ok(())
    } else {
        serve_kafka(&mut stream, buffer, peer, node_id, &state, &shutdown).await?;
        linger(stream).await;
        Ok(())
    }
}

async fn serve_kafka(
    stream: &mut TcpStream,
    mut buffer: BytesMut,
    peer: SocketAddr,
    node_id: i32,
    state: &BrokerState,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let mut session = kafka::Session::new(peer, node_id);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    loop {
        let mut close = None;
        while close.is_none() {
            match kafka::framing::parse(&mut buffer, state.config.max_frame_bytes) {
                Ok(Some(request)) => {
                    if let Err(reason) =
                        kafka::handle(request, &mut session, state, now_ms(), &mut out).await
                    {
                        close = Some(reason);
                    }
                }
                Ok(None) => break,
                Err(e) => close = Some(e.to_string()),
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if let Some(reason) = close {
            tracing::warn!(%peer, node_id, %reason, "closing Kafka connection");
            return Ok(());
        }
        if read_more(stream, &mut buffer, shutdown).await? == 0 {
            if !buffer.is_empty() && !shutdown.is_cancelled() {
                tracing::warn!(%peer, bytes = buffer.len(), "client closed the connection in the middle of a request");
            }
            return Ok(());
        }
    }
}

/// Reads what the socket has; 0 at end of stream or when the broker shuts down.
async fn read_more(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    shutdown: &CancellationToken,
) -> std::io::Result<usize> {
    if buffer.capacity() - buffer.len() < MIN_READ_SPACE {
        buffer.reserve(READ_CHUNK);
    }
    tokio::select! {
        read = stream.read_buf(buffer) => read,
        _ = shutdown.cancelled() => Ok(0),
    }
}

/// Closes the connection without losing the responses just written.
///
/// Closing a socket whose receive buffer still holds unread bytes makes the
/// kernel send a reset, and a reset can destroy data the peer has not read
/// yet, such as the error response explaining why it is being disconnected.
/// So: send FIN after the last response, then discard input until the peer
/// closes too, for at most [`LINGER`].
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let mut scratch = [0u8; 8192];
    let drain = async {
        while let Ok(n) = stream.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

async fn serve_frames(
    stream: &mut TcpStream,
    mut buffer: BytesMut,
    peer: SocketAddr,
    state: &BrokerState,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let config = &state.config;
    let limits = MessageLimits {
        max_message_bytes: config.max_message_bytes,
    };
    let mut client: Option<Arc<ClientInfo>> = None;
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    loop {
        let mut close = false;
        while !close {
            let reply = match frame::parse(&mut buffer, config.max_frame_bytes) {
                Ok(None) => break,
                Ok(Some(Frame::ProduceRequest(request))) => {
                    state
                        .stats
                        .request(Protocol::Frame, "Produce", i16::from(frame::VERSION));
                    let client = client_info(&mut client, peer, &request.client_id);
                    let acks = request.acks;
                    let response = handle_produce(
                        request,
                        client,
                        &state.store,
                        &state.stats,
                        limits,
                        now_ms(),
                    );
                    if response.status != Status::Ok {
                        state.stats.error(Protocol::Frame, response.status.name());
                    }
                    match acks {
                        FrameAcks::Recorded => Some(response),
                        FrameAcks::None => {
                            if response.status != Status::Ok {
                                tracing::warn!(%peer, status = %response.status, reason = %response.error_message,
                                    "refused an acks=0 request; the client is not told");
                            }
                            None
                        }
                    }
                }
                Ok(Some(other)) => {
                    close = true;
                    state
                        .stats
                        .error(Protocol::Frame, Status::InvalidRequest.name());
                    tracing::warn!(%peer, "client sent a response frame; closing");
                    Some(ProduceResponse::error(
                        other.correlation_id(),
                        Status::InvalidRequest,
                        "the broker accepts only produce requests",
                    ))
                }
                Err(e) => {
                    close = e.is_fatal();
                    state.stats.error(Protocol::Frame, e.status().name());
                    if close {
                        tracing::warn!(%peer, error = %e, "closing the connection");
                    } else {
                        tracing::debug!(%peer, error = %e, "skipped a frame");
                    }
                    Some(ProduceResponse::error(
                        e.correlation_id().unwrap_or(0),
                        e.status(),
                        e.to_string(),
                    ))
                }
            };
            if let Some(response) = reply
                && let Err(e) = response.encode(&mut out)
            {
                tracing::error!(%peer, error = %e, "could not encode a response; closing");
                close = true;
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return Ok(());
        }
        if read_more(stream, &mut buffer, shutdown).await? == 0 {
            if !buffer.is_empty() && !shutdown.is_cancelled() {
                tracing::warn!(%peer, bytes = buffer.len(), "client closed the connection in the middle of a frame");
            }
            return Ok(());
        }
    }
}

/// The connection's client description, refreshed if the client id changes.
fn client_info<'a>(
    slot: &'a mut Option<Arc<ClientInfo>>,
    peer: SocketAddr,
    client_id: &str,
) -> &'a Arc<ClientInfo> {
    let client_id = (!client_id.is_empty()).then(|| client_id.to_string());
    if slot.as_ref().is_none_or(|c| c.client_id != client_id) {
        *slot = Some(Arc::new(ClientInfo {
            address: peer,
            protocol: Protocol::Frame,
            client_id,
        }));
    }
    slot.as_ref().expect("just set")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
