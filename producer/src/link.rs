//! One broker connection shared by many callers: requests are pipelined and
//! responses matched to their callers by correlation id, for either protocol
//! (the [`Wire`] type parameter says how responses are framed).
//!
//! Two tasks own the connection: a writer that drains a queue of encoded
//! frames (coalescing whatever is queued into one write) and a reader that
//! hands each response to the caller waiting for its correlation id. When
//! either side fails, every waiting caller gets the reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, RequestWriter, ResponseReader};
use crate::error::Error;
use crate::tasks::Tasks;
use crate::wire::Wire;

/// How many encoded requests may wait for the writer before senders wait.
const QUEUE_DEPTH: usize = 4096;
/// Requests this large are written on their own, without being copied to coalesce.
const DIRECT_WRITE_BYTES: usize = 64 * 1024;
/// The writer stops coalescing queued frames into one write beyond this many bytes.
const MAX_WRITE_BYTES: usize = 1024 * 1024;

type Waiter<R> = oneshot::Sender<Result<R, Error>>;

/// A running connection; cheap to share behind an `Arc`.
#[derive(Debug)]
pub(crate) struct Link<W: Wire> {
    queue: mpsc::Sender<Outgoing>,
    pending: Arc<Pending<W::Response>>,
    cancel: CancellationToken,
}

impl Outgoing {
    fn len(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum()
    }

    fn copy_into(&self, buffer: &mut BytesMut) {
        for segment in &self.segments {
            buffer.extend_from_slice(segment);
        }
    }
}

/// An encoded request on its way to the writer, as segments written in order.
#[derive(Debug)]
struct Outgoing {
    segments: Vec<Bytes>,
    /// Told when the frame is on the wire; used by requests that get no response.
    written: Option<oneshot::Sender<Result<(), Error>>>,
}

impl<W: Wire> Link<W> {
    /// Starts the reader and writer tasks for `connection`, whose responses
    /// may be up to `max_response_bytes` long, among the producer's `tasks`:
    /// they stop when the link is dropped, breaks, or the producer stops.
    pub(crate) fn start(
        connection: Connection,
        address: String,
        max_response_bytes: u32,
        tasks: &Tasks,
    ) -> Self {
        let (reader, writer) = connection.into_split::<W>(max_response_bytes);
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let pending = Arc::new(Pending::new(address.clone()));
        let cancel = tasks.child_token();
        tasks.spawn(read_loop(reader, pending.clone(), cancel.clone()));
        tasks.spawn(write_loop(writer, rx, pending.clone(), cancel.clone()));
        Link {
            queue,
            pending,
            cancel,
        }
    }

    /// Sends a request and waits for the response with its correlation id.
    ///
    /// If the caller stops waiting (timeout, dropped future), the waiter is
    /// removed, so a late response is discarded rather than leaked.
    pub(crate) async fn round_trip(
        &self,
        correlation_id: u32,
        frame: Vec<Bytes>,
    ) -> Result<W::Response, Error> {
        self.enqueue(correlation_id, frame).await?.await
    }

    /// Puts a request in the connection's write queue, behind every request
    /// enqueued before it; the returned future is its response. Callers that
    /// must keep their requests in order enqueue them one after another.
    ///
    /// If the returned future is dropped, the waiter is removed, so a late
    /// response is discarded rather than leaked.
    pub(crate) async fn enqueue(
        &self,
        correlation_id: u32,
        frame: Vec<Bytes>,
    ) -> Result<impl Future<Output = Result<W::Response, Error>> + use<W>, Error> {
        let (tx, rx) = oneshot::channel();
        self.pending.register(correlation_id, tx)?;
        let guard = WaiterGuard {
            pending: self.pending.clone(),
            correlation_id,
        };
        let outgoing = Outgoing {
            segments: frame,
            written: None,
        };
        if self.queue.send(outgoing).await.is_err() {
            return Err(self.pending.closed_error());
        }
        Ok(async move {
            let pending = guard.pending.clone();
            let _guard = guard;
            rx.await.unwrap_or_else(|_| Err(pending.closed_error()))
        })
    }

    /// Puts a request that gets no response in the write queue, behind every
    /// request enqueued before it; the returned future resolves once it is written.
    pub(crate) async fn enqueue_only(
        &self,
        frame: Vec<Bytes>,
    ) -> Result<impl Future<Output = Result<(), Error>> + use<W>, Error> {
        self.pending.check_open()?;
        let (tx, rx) = oneshot::channel();
        let outgoing = Outgoing {
            segments: frame,
            written: Some(tx),
        };
        if self.queue.send(outgoing).await.is_err() {
            return Err(self.pending.closed_error());
        }
        let pending = self.pending.clone();
        Ok(async move { rx.await.unwrap_or_else(|_| Err(pending.closed_error())) })
    }
}

impl<W: Wire> Drop for Link<W> {
    fn drop(&mut self) {
        // Dropping the producer must not leave tasks holding the socket open.
        self.cancel.cancel();
    }
}

/// Callers waiting for responses, by correlation id.
#[derive(Debug)]
struct Pending<R> {
    address: String,
    state: Mutex<PendingState<R>>,
}

#[derive(Debug)]
struct PendingState<R> {
    /// Every request sent and not yet answered; `None` once its caller stopped
    /// waiting (timed out), so that its late answer is told from one to a
    /// request never sent. Bounded: a connection whose request timed out is
    /// dropped, and the rest are in flight.
    waiters: HashMap<u32, Option<Waiter<R>>>,
    /// Set once the connection is unusable; every later request fails with it.
    closed: Option<Closure>,
}

/// Why a connection became unusable.
#[derive(Debug, Clone)]
enum Closure {
    /// Closed (by either side, or broken), for this reason.
    Closed(String),
    /// The broker broke the protocol, as this says.
    Protocol(String),
    /// The peer speaks another protocol altogether.
    NotABroker(protocol::foreign::Foreign),
}

impl<R> Pending<R> {
    fn new(address: String) -> Self {
        Pending {
            address,
            state: Mutex::new(PendingState {
                waiters: HashMap::new(),
                closed: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PendingState<R>> {
        self.state.lock().expect("pending lock")
    }

    fn error_for(&self, closure: &Closure) -> Error {
        match closure {
            Closure::Closed(reason) => Error::ConnectionClosed {
                address: self.address.clone(),
                reason: reason.clone(),
            },
            Closure::Protocol(reason) => Error::Protocol {
                address: self.address.clone(),
                reason: reason.clone(),
            },
            Closure::NotABroker(answered) => Error::NotABroker {
                address: self.address.clone(),
                answered: *answered,
            },
        }
    }

    fn closed_error(&self) -> Error {
        let closure = self
            .lock()
            .closed
            .clone()
            .unwrap_or_else(|| Closure::Closed("the connection's tasks stopped".into()));
        self.error_for(&closure)
    }

    fn check_open(&self) -> Result<(), Error> {
        match &self.lock().closed {
            Some(closure) => Err(self.error_for(closure)),
            None => Ok(()),
        }
    }

    fn register(&self, correlation_id: u32, waiter: Waiter<R>) -> Result<(), Error> {
        let mut state = self.lock();
        if let Some(closure) = &state.closed {
            return Err(self.error_for(closure));
        }
        state.waiters.insert(correlation_id, Some(waiter));
        Ok(())
    }

    /// The caller of request `correlation_id` stopped waiting: its answer, if it comes, is dropped.
    fn forget(&self, correlation_id: u32) {
        if let Some(waiter) = self.lock().waiters.get_mut(&correlation_id) {
            *waiter = None;
        }
    }

    /// Hands the response to request `correlation_id` to its caller.
    ///
    /// # Errors
    /// The reason the connection must close, when no request sent on it carries that id.
    fn complete(&self, correlation_id: u32, response: R) -> Result<(), String> {
        let waiter = self.lock().waiters.remove(&correlation_id);
        match waiter {
            Some(Some(waiter)) => {
                let _ = waiter.send(Ok(response));
            }
            Some(None) => tracing::debug!(
                broker = %self.address,
                correlation_id,
                "response for a request nobody waits for any more (timed out)"
            ),
            None => {
                return Err(format!(
                    "it answered with correlation id {correlation_id}, which no request on this connection carries"
                ));
            }
        }
        Ok(())
    }

    /// Marks the connection unusable and fails every waiting caller.
    fn close(&self, closure: Closure) {
        let waiters = {
            let mut state = self.lock();
            state.closed.get_or_insert(closure);
            std::mem::take(&mut state.waiters)
        };
        for waiter in waiters.into_values().flatten() {
            let _ = waiter.send(Err(self.closed_error()));
        }
    }
}

/// Removes a waiter when its caller stops waiting, whatever the reason.
struct WaiterGuard<R> {
    pending: Arc<Pending<R>>,
    correlation_id: u32,
}

impl<R> Drop for WaiterGuard<R> {
    fn drop(&mut self) {
        self.pending.forget(self.correlation_id);
    }
}

async fn read_loop<W: Wire>(
    mut reader: ResponseReader<W>,
    pending: Arc<Pending<W::Response>>,
    cancel: CancellationToken,
) {
    let closure = loop {
        let response = tokio::select! {
            _ = cancel.cancelled() => break Closure::Closed("the producer was closed".into()),
            response = reader.read_response() => response,
        };
        match response {
            Ok(Some((correlation_id, response))) => {
                if let Err(reason) = pending.complete(correlation_id, response) {
                    break Closure::Protocol(reason);
                }
            }
            Ok(None) => break Closure::Closed("the broker closed the connection".into()),
            Err(Error::Protocol { reason, .. }) => break Closure::Protocol(reason),
            Err(Error::NotABroker { answered, .. }) => break Closure::NotABroker(answered),
            Err(e) => break Closure::Closed(e.to_string()),
        }
    };
    tracing::debug!(broker = %pending.address, ?closure, "connection reader stopped");
    pending.close(closure);
    cancel.cancel();
}

async fn write_loop<R>(
    mut writer: RequestWriter,
    mut queue: mpsc::Receiver<Outgoing>,
    pending: Arc<Pending<R>>,
    cancel: CancellationToken,
) {
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    let mut written = Vec::new();
    // A large request met while coalescing small ones waits for the next write.
    let mut carried: Option<Outgoing> = None;
    loop {
        let first = match carried.take() {
            Some(item) => item,
            None => tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                item = queue.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
            },
        };
        let result = if first.len() >= DIRECT_WRITE_BYTES {
            // A large request goes out as it is: copying it to coalesce gains nothing.
            let mut first = first;
            written.extend(first.written.take());
            unless_cancelled(
                &cancel,
                &pending.address,
                writer.write_all_segments(&mut first.segments),
            )
            .await
        } else {
            first.copy_into(&mut buffer);
            written.extend(first.written);
            while buffer.len() < MAX_WRITE_BYTES {
                match queue.try_recv() {
                    Ok(item) if item.len() >= DIRECT_WRITE_BYTES => {
                        carried = Some(item);
                        break;
                    }
                    Ok(item) => {
                        item.copy_into(&mut buffer);
                        written.extend(item.written);
                    }
                    Err(_) => break,
                }
            }
            let result =
                unless_cancelled(&cancel, &pending.address, writer.write_all(&buffer)).await;
            buffer.clear();
            result
        };
        let failed = result.err().map(|e| match e {
            Error::ConnectionClosed { reason, .. } => reason,
            other => other.to_string(),
        });
        for tx in written.drain(..) {
            let _ = tx.send(match &failed {
                None => Ok(()),
                Some(reason) => Err(Error::ConnectionClosed {
                    address: pending.address.clone(),
                    reason: reason.clone(),
                }),
            });
        }
        if let Some(reason) = failed {
            pending.close(Closure::Closed(reason));
            cancel.cancel();
            break;
        }
    }
    writer.shutdown().await;
}

/// `write`'s result, or a closed connection if the link is stopped first (a
/// broker that reads nothing must not keep the producer from closing).
async fn unless_cancelled(
    cancel: &CancellationToken,
    address: &str,
    write: impl Future<Output = Result<(), Error>>,
) -> Result<(), Error> {
    tokio::select! {
        biased;
        result = write => result,
        () = cancel.cancelled() => Err(Error::ConnectionClosed {
            address: address.to_string(),
            reason: "the producer was closed".into(),
        }),
    }
}
