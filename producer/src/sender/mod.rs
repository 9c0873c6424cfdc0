//! The sender: the background tasks that send batches and settle their records.
//!
//! Its run loop drains the accumulator, routes Kafka batches to their
//! partitions' leaders (one Produce request per broker carries every ready
//! batch it leads, at most one per partition), sends frame-protocol batches
//! as produce frames, and settles each record: acknowledged with its offset,
//! retried after a retriable error (with backoff, until `retries` or
//! `delivery_timeout` runs out), or failed with the broker's error.

mod epoch_bump;
mod frame_send;
mod kafka_send;
mod metadata;
mod run_loop;
mod settlement;
mod shared;
mod transport;

pub(crate) use epoch_bump::init_producer_id;
pub(crate) use frame_send::placements;
pub(crate) use metadata::refresh_metadata_periodically;
pub(crate) use run_loop::run;
pub(crate) use shared::Shared;
pub(crate) use transport::{BROKER_CHOOSES, FrameTransport, Transport};
