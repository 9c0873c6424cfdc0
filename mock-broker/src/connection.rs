//! One client connection: the only place the broker's bytes meet the socket.
//!
//! The socket is a plain TCP stream or, on an SSL or SASL_SSL listener, the TLS stream
//! over it (the handshake is done before, in `tls/`): the code here only reads and writes.
//!
//! The connection owns the socket, the read buffer, the outbox of responses
//! (some held back by a latency fault) and the idle timer. The first four
//! bytes decide the protocol for the connection's whole life (see
//! `docs/frame-protocol.md`): the buffer then goes to that protocol's session
//! (`kafka/`, `frame/`), which handles each whole request in arrival order.
//! Responses are written in that order; whatever complete requests a read
//! brought in are answered with one write. A large Kafka request is read apart from the
//! buffer, into memory of its own (`large_request.rs`), and then handled like the others.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::fault::Condition;
use crate::large_request::{self, LargeRequest};
use crate::listener::SecurityProtocol;
use crate::outgoing::Outgoing;
use crate::request_timer::{Expiry, RequestTimer};
use crate::state::BrokerState;
use crate::step::Step;
use crate::{frame, kafka};

/// Below this much free space the read buffer grows, so reads stay large.
const MIN_READ_SPACE: usize = 8 * 1024;
const READ_CHUNK: usize = 64 * 1024;
/// How long a closing connection keeps draining input so that its last
/// responses are not destroyed by a TCP reset (see [`linger`]).
const LINGER: Duration = Duration::from_secs(2);

/// Where a connection came in: which broker, which of its listeners.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The broker that accepted it.
    pub(crate) node_id: i32,
    /// The listener, as an index into each broker's endpoints.
    pub(crate) endpoint: usize,
    /// The listener's security protocol.
    pub(crate) protocol: SecurityProtocol,
}

/// Serves one client until it leaves, breaks the protocol, or the broker shuts down.
///
/// `stream` is the socket, or the TLS stream over it on an SSL or SASL_SSL listener: the
/// connection only reads and writes bytes.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    arrival: Arrival,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let Arrival { peer, node_id, .. } = arrival;
    let mut condition = state.faults.condition(node_id);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let idle_timeout = state.config.idle_timeout();
    let accepted = Instant::now();
    let mut timer = RequestTimer::new(
        state.config.first_request_timeout(),
        state.config.request_timeout(),
        accepted,
    );
    let mut last_read = accepted;
    while buffer.len() < 4 {
        if condition.borrow().down {
            return Ok(());
        }
        let idle_due = idle_timeout.map(|idle| (last_read + idle, None));
        let due = match (idle_due, timer.deadline()) {
            (Some(idle), Some((at, expiry))) if at < idle.0 => Some((at, Some(expiry))),
            (Some(idle), _) => Some(idle),
            (None, deadline) => deadline.map(|(at, expiry)| (at, Some(expiry))),
        };
        let read = read_more(&mut stream, &mut buffer, &shutdown);
        let read = match due {
            Some((at, expiry)) => match tokio::time::timeout_at(at.into(), read).await {
                Ok(read) => read?,
                Err(_) => {
                    match expiry {
                        Some(expiry) => refuse_late(&state, peer, expiry, buffer.len()),
                        None => {
                            tracing::debug!(%peer, ?idle_timeout, "closing a connection that sent nothing")
                        }
                    }
                    return Ok(());
                }
            },
            None => read.await?,
        };
        if read == 0 {
            if !buffer.is_empty() {
                tracing::debug!(%peer, bytes = buffer.len(), "client left before sending a whole request");
            }
            return Ok(());
        }
        last_read = Instant::now();
        timer.handled(false, true, last_read);
    }
    let handler = if protocol::frame::starts_with_magic(&buffer) {
        if arrival.protocol.sasl() {
            // The frame protocol has no authentication: serving it here would let a
            // client past the listener's SASL.
            tracing::warn!(%peer, listener = %arrival.protocol, "a frame-protocol client connected to a SASL listener; the frame protocol is served on PLAINTEXT and SSL listeners only; closing the connection");
            return Ok(());
        }
        Handler::Frames(frame::Session::new(peer, node_id))
    } else {
        Handler::Kafka(kafka::Session::on_listener(
            peer,
            node_id,
            arrival.endpoint,
            arrival.protocol.sasl(),
        ))
    };
    let mut connection = Connection {
        stream,
        buffer,
        large: None,
        outbox: Outbox::default(),
        condition: &mut condition,
        shutdown: &shutdown,
        peer,
    };
    match crate::record_file::track_writes(connection.run(handler, &state, timer, last_read))
        .await?
    {
        Ending::Closed => linger(connection.stream).await,
        // A `down` fault drops connections the way a crashed broker does.
        Ending::Dropped => {}
    }
    Ok(())
}

/// How a connection ended.
enum Ending {
    /// Normally: the client left, the broker is shutting down, or the client broke the protocol.
    Closed,
    /// A `down` fault: dropped at once, responses in flight lost.
    Dropped,
}

/// One connection's socket, input and output.
struct Connection<'a, S> {
    stream: S,
    buffer: BytesMut,
    /// A large Kafka request being read into memory of its own; while it is, every byte read
    /// goes there, and `buffer` is empty.
    large: Option<LargeRequest>,
    outbox: Outbox,
    condition: &'a mut watch::Receiver<Condition>,
    shutdown: &'a CancellationToken,
    peer: SocketAddr,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Reads, handles and answers requests until the connection ends; `timer`
    /// and `last_read` go on from what was read before the protocol was known.
    async fn run(
        &mut self,
        mut handler: Handler,
        state: &BrokerState,
        mut timer: RequestTimer,
        mut last_read: Instant,
    ) -> std::io::Result<Ending> {
        let idle_timeout = state.config.idle_timeout();
        // One timer for the connection's life, moved on only when it fires:
        // a read just notes the time.
        let idle = tokio::time::sleep(idle_timeout.unwrap_or(Duration::MAX / 4));
        tokio::pin!(idle);
        // Likewise for the request deadlines, reset only when the deadline moves.
        let late = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(late);
        let mut armed: Option<(Instant, Expiry)> = None;
        loop {
            if let Some(ending) = self.wait_out_stall().await {
                return Ok(ending);
            }
            let before = self.buffer.len();
            let (close, answered) = match self.large.take_if(|large| large.is_complete()) {
                Some(large) => {
                    let request = large.into_bytes();
                    (handler.answer(request, &mut self.outbox, state).await, true)
                }
                None => {
                    let close = handler
                        .process(&mut self.buffer, &mut self.outbox, state)
                        .await;
                    (close, self.buffer.len() < before)
                }
            };
            if close.is_none() && self.large.is_none() {
                self.read_large_request_apart(&handler, state);
            }
            timer.handled(answered, self.pending() > 0, last_read);
            let deadline = timer.deadline();
            if let Some((at, _)) = deadline
                && armed.map(|(was, _)| was) != Some(at)
            {
                late.as_mut().reset(at.into());
            }
            armed = deadline;
            // Nothing is acknowledged before the record file holds it durably
            // (`--fsync always`): one wait covers every request of this read that
            // wrote to it, and a read that wrote nothing does not wait.
            if let Err(failed) = state.durable().await {
                tracing::error!(peer = %self.peer, reason = %failed, "closing the connection unanswered: the record file is not durable");
                return Ok(Ending::Closed);
            }
            self.outbox.release_due();
            self.write_ready().await?;
            if let Some(reason) = close {
                state.refusals.closing(self.peer, reason.kind(), &reason);
                // Responses held back by a latency fault still go out, on time.
                while let Some(at) = self.outbox.next_release() {
                    tokio::time::sleep_until(at.into()).await;
                    self.outbox.release_due();
                    self.write_ready().await?;
                }
                if let Some(delay) = reason.close_delay() {
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.shutdown.cancelled() => {}
                    }
                }
                return Ok(Ending::Closed);
            }
            let release = self.outbox.next_release();
            let held = async {
                match release {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            if self.large.is_none() && self.buffer.capacity() - self.buffer.len() < MIN_READ_SPACE {
                self.buffer.reserve(READ_CHUNK);
            }
            tokio::select! {
                read = read_next(&mut self.stream, &mut self.buffer, &mut self.large) => {
                    if read? == 0 {
                        if self.pending() > 0 {
                            tracing::warn!(peer = %self.peer, bytes = self.pending(), "client closed the connection in the middle of a request");
                        }
                        return Ok(Ending::Closed);
                    }
                    last_read = Instant::now();
                }
                () = &mut idle, if idle_timeout.is_some() => {
                    let idle_timeout = idle_timeout.expect("checked");
                    let mut due = last_read + idle_timeout;
                    if let Some(release) = self.outbox.next_release() {
                        // Responses still held back (a latency fault) count as activity.
                        due = due.max(release + idle_timeout);
                    }
                    if Instant::now() >= due {
                        tracing::info!(peer = %self.peer, ?idle_timeout, "closing an idle connection (connections_max_idle_ms)");
                        return Ok(Ending::Closed);
                    }
                    idle.as_mut().reset(due.into());
                }
                () = &mut late, if armed.is_some() => {
                    let (_, expiry) = armed.expect("checked");
                    refuse_late(state, self.peer, expiry, self.pending());
                    return Ok(Ending::Closed);
                }
                () = held => {}
                _ = self.condition.changed() => {}
                () = self.shutdown.cancelled() => return Ok(Ending::Closed),
            }
        }
    }

    /// Bytes of a request not yet whole, held in the buffer or in a large request's memory.
    fn pending(&self) -> usize {
        self.buffer.len() + self.large.as_ref().map_or(0, LargeRequest::held)
    }

    /// When the buffer begins a large Kafka request not yet whole, moves what there is of it
    /// into memory of its own, where the rest will be read ([`crate::large_request`]).
    fn read_large_request_apart(&mut self, handler: &Handler, state: &BrokerState) {
        if !matches!(handler, Handler::Kafka(_)) {
            return;
        }
        let Some(size) = large_request::announced(&self.buffer, state.config.max_frame_bytes)
        else {
            return;
        };
        if let Some(large) = LargeRequest::start(size, &self.buffer[4..], &state.mappings) {
            self.large = Some(large);
            self.buffer.clear();
        }
    }

    /// While a `stall` fault holds the broker, does nothing at all; `Some` when
    /// the connection must end instead (the broker went down or is shutting down).
    async fn wait_out_stall(&mut self) -> Option<Ending> {
        loop {
            let now = *self.condition.borrow_and_update();
            if now.down {
                tracing::debug!(peer = %self.peer, "broker is down (fault); dropping the connection");
                return Some(Ending::Dropped);
            }
            if !now.stalled {
                return None;
            }
            tokio::select! {
                _ = self.condition.changed() => {}
                () = self.shutdown.cancelled() => return Some(Ending::Closed),
            }
        }
    }

    /// Writes the ready responses, spliced batches straight from the log's memory.
    ///
    /// Then flushes: a TLS stream may keep the end of what it accepted in its own buffer
    /// when the socket is full (on a plain socket this costs nothing).
    async fn write_ready(&mut self) -> std::io::Result<()> {
        if !self.outbox.ready.is_empty() {
            self.stream.write_all_buf(&mut self.outbox.ready).await?;
            self.stream.flush().await?;
        }
        Ok(())
    }
}

/// Responses in the order their requests arrived: ready to write, or held
/// back by a latency fault until their time (and every later one behind them).
#[derive(Default)]
struct Outbox {
    ready: Outgoing,
    held: VecDeque<(Instant, Outgoing)>,
}

impl Outbox {
    /// Where the next response will start in `ready`.
    fn mark(&self) -> usize {
        self.ready.len()
    }

    /// The response appended to `ready` since `mark` waits `delay` if a fault
    /// asked for one, and in any case behind responses already held back.
    fn settle(&mut self, mark: usize, delay: Option<Duration>) {
        if delay.is_none() && self.held.is_empty() {
            return;
        }
        let response = self.ready.split_off(mark);
        if response.is_empty() {
            return;
        }
        let mut release = Instant::now() + delay.unwrap_or_default();
        if let Some((last, _)) = self.held.back() {
            release = release.max(*last);
        }
        self.held.push_back((release, response));
    }

    /// Settles the response a session's `step` appended since `mark` (see [`settle`](Self::settle));
    /// the reason to close the connection, if the step closes it.
    fn settle_step(&mut self, mark: usize, step: Step<Close>) -> Option<Close> {
        match step {
            Step::Incomplete => None,
            Step::Answered(hold) => {
                self.settle(mark, hold);
                None
            }
            Step::Close(reason, hold) => {
                self.settle(mark, hold);
                Some(reason)
            }
        }
    }

    /// Moves the held responses whose time has come to `ready`.
    fn release_due(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let now = Instant::now();
        while self.held.front().is_some_and(|(at, _)| *at <= now) {
            let (_, response) = self.held.pop_front().expect("just checked");
            self.ready.append(response);
        }
    }

    fn next_release(&self) -> Option<Instant> {
        self.held.front().map(|(at, _)| *at)
    }
}

/// The protocol a connection speaks, with its per-connection state.
enum Handler {
    Kafka(kafka::Session),
    Frames(frame::Session),
}

/// Why a connection is closed, in either protocol.
#[derive(Debug, thiserror::Error)]
enum Close {
    #[error(transparent)]
    Kafka(#[from] kafka::CloseReason),
    #[error(transparent)]
    Frame(#[from] frame::CloseReason),
}

impl Close {
    /// What kind of reason it is, for logging each kind apart.
    fn kind(&self) -> &'static str {
        match self {
            Close::Kafka(reason) => reason.kind(),
            Close::Frame(reason) => reason.kind(),
        }
    }

    /// How long to keep the connection open after the last response (see
    /// [`kafka::CloseReason::close_delay`]).
    fn close_delay(&self) -> Option<Duration> {
        match self {
            Close::Kafka(reason) => reason.close_delay(),
            Close::Frame(_) => None,
        }
    }
}

impl Handler {
    /// Hands one whole Kafka request, read apart from the buffer, to the session, its response
    /// into the outbox; the reason to close the connection, if any.
    async fn answer(
        &mut self,
        request: Bytes,
        outbox: &mut Outbox,
        state: &BrokerState,
    ) -> Option<Close> {
        let Handler::Kafka(session) = self else {
            unreachable!("only Kafka requests are read apart from the buffer");
        };
        let mark = outbox.mark();
        let step = session
            .answer(request, &mut outbox.ready, state)
            .await
            .map_close(Close::Kafka);
        debug_assert!(
            !matches!(step, Step::Incomplete),
            "a whole request is answered"
        );
        outbox.settle_step(mark, step)
    }

    /// Hands every whole request in `buffer` to the session, in order, each
    /// response into the outbox; the reason to close the connection, if any.
    async fn process(
        &mut self,
        buffer: &mut BytesMut,
        outbox: &mut Outbox,
        state: &BrokerState,
    ) -> Option<Close> {
        loop {
            let mark = outbox.mark();
            let step = match self {
                Handler::Kafka(session) => session
                    .next(buffer, &mut outbox.ready, state)
                    .await
                    .map_close(Close::Kafka),
                Handler::Frames(session) => session
                    .next(buffer, outbox.ready.writer(), state)
                    .map_close(Close::Frame),
            };
            if matches!(step, Step::Incomplete) {
                return None;
            }
            if let Some(reason) = outbox.settle_step(mark, step) {
                return Some(reason);
            }
        }
    }
}

/// Counts and logs (now and then) a connection closed because a request took too long.
fn refuse_late(state: &BrokerState, peer: SocketAddr, expiry: Expiry, pending: usize) {
    let (what, limit_ms) = match expiry {
        Expiry::FirstRequest => (
            "no request completed",
            state.config.first_request_timeout_ms,
        ),
        Expiry::Request => (
            "a request not arrived whole",
            state.config.request_timeout_ms,
        ),
    };
    state.refusals.refused(
        expiry.limit(),
        peer,
        &format!(
            "closing the connection: {what} within {} = {limit_ms} ms ({pending} bytes of a request held)",
            expiry.limit()
        ),
    );
}

/// Reads what the socket has into the large request being read, if there is one, else into
/// `buffer`; 0 at end of stream.
async fn read_next<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
    large: &mut Option<LargeRequest>,
) -> std::io::Result<usize> {
    match large {
        Some(large) => {
            let read = stream.read(large.unfilled()).await?;
            large.filled(read);
            Ok(read)
        }
        None => stream.read_buf(buffer).await,
    }
}

/// Reads what the socket has; 0 at end of stream or when the broker shuts down.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
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
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
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
