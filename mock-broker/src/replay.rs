//! The record file read back at startup into a fresh [`BrokerState`]: topics
//! (partition counts, configs, ids), records at their offsets, idempotent
//! producers' ids, epochs and last batches, and groups' committed offsets
//! (commits, deletions).
//!
//! Lines are applied in order, one at a time (memory: one line of at most
//! [`longest_line`] bytes, one batch, and what the store keeps under its
//! retention and memory limits). A last
//! line that is cut short (no `\n`) or unreadable is what a crash in the
//! middle of a write leaves: it is logged and cut off the file. An
//! unreadable line anywhere else is an error naming the file and line.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::now_ms;
use crate::group::CommittedOffset;
use crate::record_line::{EventLine, FileLine, RecordLine, parse_line};
use crate::state::BrokerState;
use crate::store::{
    ClientInfo, NewRecord, NewTopic, ProducerInfo, Protocol, ReplayedBatch, StoreError, TopicConfig,
};

/// Why the record file could not be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReplayError {
    /// Reading (or truncating) the file failed.
    #[error("cannot replay the record file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A line in the middle of the file cannot be read or applied.
    #[error("cannot replay the record file {path}, line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a replay read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Replayed {
    /// Lines applied.
    pub(crate) lines: u64,
    /// Records among them.
    pub(crate) records: u64,
    /// Where a torn last line was cut off (its byte offset), if one was.
    pub(crate) truncated_at: Option<u64>,
    /// Transactions still open at the file's end: (topic, partition, producer id, epoch).
    pub(crate) open_transactions: Vec<(String, u32, i64, i16)>,
}

/// Records of one append being gathered from consecutive lines.
struct Pending {
    /// The line number of its first record.
    line: u64,
    topic: String,
    batch: ReplayedBatch,
    /// The record line's `base_offset`, when the file has it.
    base: Option<i64>,
    /// (producer id, epoch), when the records carry them.
    producer: Option<(i64, i16)>,
}

/// Replays the record file at `path` into `state`, which must be fresh and without a sink.
/// A missing file is an empty one.
///
/// # Errors
/// [`ReplayError`], naming the file (and the line) and what is wrong.
pub(crate) fn replay(path: &Path, state: &BrokerState) -> Result<Replayed, ReplayError> {
    let io = |error| ReplayError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Replayed::default()),
        Err(e) => return Err(io(e)),
    };
    let mut replay = Replay {
        path,
        state,
        now: now_ms(),
        pending: None,
        client: None,
        open: Vec::new(),
        done: Replayed::default(),
    };
    let longest = longest_line(state);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buffer = Vec::new();
    let mut position = 0u64;
    let mut number = 0u64;
    let mut torn = None;
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(longest + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(io)?;
        if read == 0 {
            break;
        }
        number += 1;
        let start = position;
        position += read as u64;
        let Some(line) = buffer.strip_suffix(b"\n") else {
            if read as u64 > longest && !reader.fill_buf().map_err(io)?.is_empty() {
                return Err(replay.error(
                    number,
                    format!(
                        "longer than {longest} bytes, more than any line this broker writes (12 x max_decompressed_bytes + 1 MiB)"
                    ),
                ));
            }
            torn = Some((
                start,
                "it does not end with a newline (a write cut short)".to_string(),
            ));
            break;
        };
        match parse_line(line) {
            Ok(line) => replay.apply(line, number)?,
            Err(reason) => {
                if reader.fill_buf().map_err(io)?.is_empty() {
                    torn = Some((start, reason));
                    break;
                }
                return Err(replay.error(number, reason));
            }
        }
    }
    replay.flush()?;
    let mut done = replay.finish();
    if let Some((offset, reason)) = torn {
        tracing::warn!(path = %path.display(), byte_offset = offset, line = number, %reason, "the record file ends with a torn line; cutting it off");
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(offset))
            .map_err(io)?;
        done.truncated_at = Some(offset);
    }
    Ok(done)
}

/// The longest line a replay reads: a record's key, value and headers take at most
/// `max_decompressed_bytes`, and its line at most twelve times that (JSON writes a byte in
/// at most six characters, `\u0000`, and header values twice), plus room for the other
/// fields. Bounds the replay's line buffer.
fn longest_line(state: &BrokerState) -> u64 {
    12 * u64::from(state.config.max_decompressed_bytes) + (1 << 20)
}

/// A replay under way.
struct Replay<'a> {
    path: &'a Path,
    state: &'a BrokerState,
    now: i64,
    pending: Option<Pending>,
    /// The last client seen, shared by its records.
    client: Option<Arc<ClientInfo>>,
    /// (topic, partition, producer id, epoch) of transactions without their marker yet.
    open: Vec<(String, u32, i64, i16)>,
    done: Replayed,
}

impl Replay<'_> {
    fn error(&self, line: u64, reason: impl std::fmt::Display) -> ReplayError {
        ReplayError::Line {
            path: self.path.to_path_buf(),
            line,
            reason: reason.to_string(),
        }
    }

    fn apply(&mut self, line: FileLine, number: u64) -> Result<(), ReplayError> {
        self.done.lines += 1;
        match line {
            FileLine::Record(record) => {
                self.done.records += 1;
                self.record(*record, number)
            }
            FileLine::Event(event) => {
                self.flush()?;
                self.event(event)
                    .map_err(|reason| self.error(number, reason))
            }
        }
    }

    /// Adds a record to the batch being gathered, or starts a new one.
    fn record(&mut self, record: RecordLine, number: u64) -> Result<(), ReplayError> {
        let protocol = match record.protocol.as_str() {
            "kafka" => Protocol::Kafka,
            "frame" => Protocol::Frame,
            other => {
                return Err(self.error(
                    number,
                    format!("protocol {other:?} is not \"kafka\" or \"frame\""),
                ));
            }
        };
        let producer = match (record.producer_id, record.producer_epoch, record.sequence) {
            (Some(id), Some(epoch), Some(sequence)) => Some(ProducerInfo {
                id,
                epoch,
                sequence,
            }),
            _ => None,
        };
        let transactional = record.transaction.is_some();
        let continues = self.pending.as_ref().is_some_and(|p| {
            let last = p.batch.records.len() as i64 - 1;
            let previous = p.batch.records.last().and_then(|r| r.producer);
            p.topic == record.topic
                && p.batch.partition == record.partition
                && p.batch.base_offset + last + 1 == record.offset
                && p.batch.receive_time == record.receive_time
                && p.batch.transactional == transactional
                && !p.batch.control
                && !record.control
                && p.base == record.base_offset
                && p.producer == producer.map(|p| (p.id, p.epoch))
                && p.batch.client.address == record.client_address
                && p.batch.client.client_id == record.client_id
                && (p.base.is_some()
                    || match (previous, producer) {
                        (Some(a), Some(b)) => b.sequence == a.sequence.wrapping_add(1),
                        _ => true,
                    })
        });
        let new = NewRecord {
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.header_list,
            producer,
        };
        if continues {
            self.pending
                .as_mut()
                .expect("checked")
                .batch
                .records
                .push(new);
            return Ok(());
        }
        self.flush()?;
        let client = match &self.client {
            Some(c)
                if c.address == record.client_address
                    && c.client_id == record.client_id
                    && c.protocol == protocol =>
            {
                c.clone()
            }
            _ => {
                let c = Arc::new(ClientInfo {
                    address: record.client_address,
                    protocol,
                    client_id: record.client_id,
                });
                self.client = Some(c.clone());
                c
            }
        };
        self.pending = Some(Pending {
            line: number,
            topic: record.topic,
            base: record.base_offset,
            producer: producer.map(|p| (p.id, p.epoch)),
            batch: ReplayedBatch {
                partition: record.partition,
                base_offset: record.offset,
                records: vec![new],
                transactional,
                control: record.control,
                receive_time: record.receive_time,
                client,
            },
        });
        Ok(())
    }

    /// Puts the batch gathered so far into the store.
    fn flush(&mut self) -> Result<(), ReplayError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let line = pending.line;
        self.put(pending).map_err(|reason| self.error(line, reason))
    }

    fn put(&mut self, pending: Pending) -> Result<(), String> {
        let store = &self.state.store;
        let partition = pending.batch.partition;
        let topic = match store.topic(&pending.topic) {
            Some(topic) => topic,
            // A file from before topic lines: the topic as auto-creation made it.
            None => store
                .create_topic_checked(
                    &pending.topic,
                    store.default_partitions().max(partition + 1),
                )
                .map_err(|e| e.to_string())?,
        };
        if partition >= topic.partition_count() {
            topic
                .add_partitions(partition + 1)
                .map_err(|e| e.to_string())?;
        }
        let base_offset = pending.batch.base_offset;
        let count = pending.batch.records.len() as i32;
        let first_sequence = pending.batch.records[0].producer.map(|p| p.sequence);
        let (transactional, control) = (pending.batch.transactional, pending.batch.control);
        topic
            .replay(pending.batch, self.now)
            .map_err(|e| match e {
                StoreError::MemoryFull { .. } => format!(
                    "{e}; raise --max-memory, lower --retention-bytes or --retention-ms, or start with --fresh"
                ),
                e => e.to_string(),
            })?;
        if let Some((id, epoch)) = pending.producer {
            let key = (pending.topic.clone(), partition);
            self.open
                .retain(|(t, p, pid, _)| !((t, *p) == (&key.0, key.1) && *pid == id));
            if transactional && !control {
                self.open.push((key.0, key.1, id, epoch));
            }
            let mut producers = self.state.producers.lock().expect("producers lock");
            producers.replayed(id, epoch);
            if let Some(first) = first_sequence.filter(|&s| s >= 0 && !control) {
                producers.appended(
                    id,
                    epoch,
                    (topic.id(), partition),
                    first,
                    count,
                    base_offset,
                );
            }
        }
        Ok(())
    }

    fn event(&mut self, event: EventLine) -> Result<(), String> {
        let store = &self.state.store;
        let topic_named = |name: &str| {
            store
                .topic(name)
                .ok_or_else(|| format!("topic {name:?} does not exist (no topic line before it)"))
        };
        match event {
            EventLine::Topic {
                topic,
                id,
                partitions,
                replication_factor,
                config,
            } => {
                let id = uuid::Uuid::parse_str(&id)
                    .map_err(|e| format!("topic id {id:?} is not a UUID: {e}"))?;
                if partitions == 0 {
                    return Err(format!("topic {topic:?} has 0 partitions"));
                }
                let spec = NewTopic {
                    partitions,
                    replication_factor,
                    config: TopicConfig::new(config)?,
                };
                store
                    .restore_topic(&topic, spec, id)
                    .map_err(|e| e.to_string())?;
            }
            EventLine::Partitions { topic, partitions } => {
                let log = topic_named(&topic)?;
                if partitions > log.partition_count() {
                    log.add_partitions(partitions).map_err(|e| e.to_string())?;
                }
            }
            EventLine::TopicConfig { topic, config } => {
                topic_named(&topic)?.set_config(TopicConfig::new(config)?, self.now);
            }
            EventLine::LogStart {
                topic,
                partition,
                offset,
            } => {
                topic_named(&topic)?
                    .delete_records(partition, offset)
                    .map_err(|e| e.to_string())?;
            }
            EventLine::TopicDeleted { topic } => {
                store.delete_topic(&topic);
                self.open.retain(|(t, ..)| *t != topic);
            }
            EventLine::Reset {} => {
                store.reset();
                self.open.clear();
            }
            EventLine::Producer {
                producer_id,
                producer_epoch,
            } => {
                self.state
                    .producers
                    .lock()
                    .expect("producers lock")
                    .replayed(producer_id, producer_epoch);
            }
            EventLine::OffsetCommit {
                group,
                topic,
                partition,
                offset,
                leader_epoch,
                metadata,
                commit_timestamp,
            } => {
                let committed = CommittedOffset {
                    offset,
                    leader_epoch,
                    metadata,
                    commit_timestamp_ms: commit_timestamp,
                };
                let now = self.now;
                self.state.groups.call(|coordinator, _| {
                    coordinator.commit_transactional(&group, [(topic, partition, committed)], now);
                    ((), Vec::new())
                });
            }
            EventLine::OffsetDelete {
                group,
                topic,
                partition,
            } => {
                // Refused only for a group that is gone or has members: neither after a replay's commits.
                self.state.groups.call(|coordinator, _| {
                    let _ = coordinator.delete_offsets(&group, &[(topic, partition)]);
                    ((), Vec::new())
                });
            }
            EventLine::GroupDeleted { group } => {
                self.state.groups.call(|coordinator, _| {
                    let _ = coordinator.delete_groups(&[group]);
                    ((), Vec::new())
                });
            }
        }
        Ok(())
    }

    fn finish(self) -> Replayed {
        Replayed {
            open_transactions: self.open,
            ..self.done
        }
    }
}
