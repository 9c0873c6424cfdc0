//! The high-level producer: what applications and the load generator call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::frame::{FrameAcks, Message, ProduceRequest, ProduceResponse, Status};
use crate::link::Link;
use crate::{Acks, Delivery, Record};

/// Sends records to one broker over one pipelined connection.
///
/// Cloning is cheap and every clone shares the connection, so many tasks can
/// send at once; each `send` is its own request, and many requests are in
/// flight on the connection together.
///
/// ```no_run
/// # async fn demo() -> Result<(), producer::Error> {
/// use producer::{Config, Producer, Record};
/// let producer = Producer::new(Config::new("127.0.0.1:9092", "demo")).await?;
/// producer.send_message("hello").await?;
/// let delivery = producer.send(Record::new("payload").with_key("user-42")).await?;
/// println!("stored at partition {:?} offset {:?}", delivery.partition, delivery.offset);
/// producer.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    link: Link,
    next_correlation_id: AtomicU32,
    closed: AtomicBool,
    in_flight: InFlight,
}

impl Producer {
    /// Validates `config` and connects to its broker.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`], or [`Error::Connect`] / [`Error::ConnectTimeout`] naming the address.
    pub async fn new(config: Config) -> Result<Producer, Error> {
        config.validate()?;
        let connection = Connection::connect(
            &config.broker_address,
            config.connect_timeout,
            config.max_frame_bytes,
        )
        .await?;
        tracing::info!(broker = %config.broker_address, client_id = %config.client_id, "connected to broker");
        let link = Link::start(connection, config.broker_address.clone());
        Ok(Producer {
            inner: Arc::new(Inner {
                config,
                link,
                next_correlation_id: AtomicU32::new(1),
                closed: AtomicBool::new(false),
                in_flight: InFlight::default(),
            }),
        })
    }

    /// The configuration this producer runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sends `message` as the value of a keyless record to the configured topic.
    ///
    /// This is the original design's API.
    ///
    /// # Errors
    /// As [`Producer::send`].
    pub async fn send_message(&self, message: &str) -> Result<Delivery, Error> {
        self.send(Record::new(Bytes::copy_from_slice(message.as_bytes())))
            .await
    }

    /// Sends one record and waits until the broker has recorded it (with
    /// `acks` 1 or all) or until it is written to the socket (with `acks = 0`).
    ///
    /// # Errors
    /// - [`Error::MessageTooLarge`], [`Error::FrameTooLarge`], [`Error::Encode`]: refused locally, not sent;
    /// - [`Error::Broker`]: the broker refused it, with its status;
    /// - [`Error::Timeout`], [`Error::ConnectionClosed`], [`Error::Protocol`]: the outcome is unknown;
    /// - [`Error::Closed`]: [`Producer::close`] was called.
    pub async fn send(&self, record: Record) -> Result<Delivery, Error> {
        let inner = &*self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let _in_flight = inner.in_flight.enter();
        let config = &inner.config;
        let message = Message {
            timestamp: Some(record.timestamp.unwrap_or_else(now_ms)),
            key: record.key,
            value: record.value,
            headers: record.headers,
        };
        let size = message.encoded_len();
        if size > config.max_message_bytes as usize {
            return Err(Error::MessageTooLarge {
                size,
                limit: config.max_message_bytes,
            });
        }
        let correlation_id = inner.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let request = ProduceRequest {
            correlation_id,
            acks: match config.acks {
                Acks::None => FrameAcks::None,
                Acks::Leader | Acks::All => FrameAcks::Recorded,
            },
            client_id: config.client_id.clone(),
            topic: record.topic.unwrap_or_else(|| config.topic.clone()),
            partition: record.partition,
            messages: vec![message],
        };
        let mut frame = BytesMut::with_capacity(crate::frame::HEADER_LEN + 64 + size);
        request.encode(&mut frame)?;
        if frame.len() > config.max_frame_bytes as usize {
            return Err(Error::FrameTooLarge {
                size: frame.len(),
                limit: config.max_frame_bytes,
            });
        }
        let frame = frame.freeze();
        let exchange = async {
            match request.acks {
                FrameAcks::None => inner.link.send_only(frame).await.map(|()| Delivery {
                    partition: None,
                    offset: None,
                }),
                FrameAcks::Recorded => {
                    let response = inner.link.round_trip(correlation_id, frame).await?;
                    delivery_from(response, inner.link.address())
                }
            }
        };
        match tokio::time::timeout(config.request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                address: config.broker_address.clone(),
                timeout: config.request_timeout,
            }),
        }
    }

    /// Waits until every send started before this call has completed.
    pub async fn flush(&self) {
        self.inner.in_flight.wait_idle().await;
    }

    /// Stops accepting records, waits for those in flight, and closes the connection.
    ///
    /// Later sends, through any clone, fail with [`Error::Closed`].
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.flush().await;
        self.inner.link.shutdown().await;
        tracing::info!(broker = %self.inner.config.broker_address, "producer closed");
    }
}

fn delivery_from(response: ProduceResponse, address: &str) -> Result<Delivery, Error> {
    if response.status != Status::Ok {
        return Err(Error::Broker {
            status: response.status,
            message: response.error_message,
        });
    }
    let mut placements = response.placements();
    match (placements.next(), placements.next()) {
        (Some((partition, offset)), None) => Ok(Delivery {
            partition: Some(partition),
            offset: Some(offset),
        }),
        _ => Err(Error::Protocol {
            address: address.to_string(),
            reason: format!(
                "response to a one-message request places {} messages",
                response.message_count()
            ),
        }),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Counts sends in progress so that [`Producer::flush`] can wait for them.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    fn enter(&self) -> InFlightGuard<'_> {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self)
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct InFlightGuard<'a>(&'a InFlight);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
