//! The embedded broker's audit on runs longer than its memory holds: once the
//! broker holds more than a threshold, the workload topic's oldest records are
//! read and counted while the run goes, then deleted from the log.
//!
//! The audit needs one bit per message id (its [`Tally`]), not the messages:
//! so an embedded run of any length fits in memory. A thread wakes every
//! [`CHECK_EVERY`]; when the store holds more than `trim_above` bytes it reads
//! the topic's partitions from where it last stopped, feeds each record to the
//! tally, and deletes what it read (Kafka's DeleteRecords on the store), until
//! the store is down to half of `trim_above` or everything is read. At the end
//! of the run [`LiveAudit::stop`] hands the tally and the offsets it reached to
//! the final audit, which reads the rest as before. Short runs never reach the
//! threshold and pay nothing for this.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use mock_broker::RecordStore;

use crate::audit::{SeenRecord, Tally};

/// How often the thread looks at the store's memory.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

/// Past this many bytes in the embedded broker, the audit reads and trims as it goes.
pub const TRIM_ABOVE: u64 = 1 << 30;

/// Records read per partition at a time.
const READ_CHUNK: usize = 16_384;

/// The audit's progress so far: what it counted, and where each partition's unread records start.
#[derive(Debug)]
pub struct AuditProgress {
    /// The records read and deleted so far, counted.
    pub tally: Tally,
    /// Per partition, the first offset not read yet.
    pub next: BTreeMap<u32, u64>,
    /// How many records were deleted from the log after being counted.
    pub trimmed: u64,
}

/// The trimming thread of one run.
#[derive(Debug)]
pub struct LiveAudit {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<AuditProgress>,
}

impl LiveAudit {
    /// Starts reading `topic` of `store` from `from` (where each partition
    /// ended before the run) whenever the store holds more than `trim_above`
    /// bytes, for a run of `producers` producer instances.
    pub fn start(
        store: RecordStore,
        topic: String,
        from: BTreeMap<u32, u64>,
        producers: usize,
        trim_above: u64,
    ) -> LiveAudit {
        let (stop, stopped) = mpsc::channel();
        let mut progress = AuditProgress {
            tally: Tally::new(producers),
            next: from,
            trimmed: 0,
        };
        let thread = std::thread::Builder::new()
            .name("loadgen-audit".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECK_EVERY) {
                    if store.memory().used_bytes > trim_above {
                        trim(&store, &topic, &mut progress, trim_above / 2);
                    }
                }
                progress
            })
            .expect("a thread can be started");
        LiveAudit { stop, thread }
    }

    /// Stops trimming; what was counted and where the unread records start.
    pub fn stop(self) -> AuditProgress {
        let _ = self.stop.send(());
        self.thread.join().expect("the audit thread does not panic")
    }
}

/// Reads, counts and deletes the oldest records of `topic`, partition by
/// partition a chunk at a time, until the store holds at most `down_to` bytes
/// or every record is read.
fn trim(store: &RecordStore, topic: &str, progress: &mut AuditProgress, down_to: u64) {
    let Some(log) = store.topic(topic) else {
        return;
    };
    loop {
        let mut read_any = false;
        for partition in 0..log.partition_count() {
            let next = progress.next.entry(partition).or_insert(0);
            let from = i64::try_from(*next).unwrap_or(i64::MAX);
            let Ok(records) = log.read(partition, from, READ_CHUNK) else {
                continue;
            };
            let Some(last) = records.last() else {
                continue;
            };
            read_any = true;
            *next = last.offset as u64 + 1;
            for record in &records {
                progress.tally.observe(SeenRecord {
                    partition,
                    value: record.value.as_deref(),
                });
            }
            progress.trimmed += records.len() as u64;
            if let Err(error) = log.delete_records(partition, last.offset + 1) {
                tracing::warn!(%error, topic, partition, "the audit cannot trim what it read");
            }
        }
        if !read_any || store.memory().used_bytes <= down_to {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use bytes::Bytes;
    use mock_broker::store::{ClientInfo, NewRecord, Protocol};

    use super::*;
    use crate::audit::{Acknowledged, SequenceSet, audit};
    use crate::message_id::MessageId;
    use crate::payload::ValueBuilder;

    fn client() -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Frame,
            client_id: None,
        })
    }

    /// Appends messages `sequences` of producer 0 to partition `partition`, one batch.
    fn append(store: &RecordStore, partition: u32, sequences: std::ops::Range<u64>) {
        let mut builder = ValueBuilder::new();
        let records: Vec<NewRecord> = sequences
            .map(|sequence| NewRecord {
                timestamp: None,
                key: None,
                value: Some(builder.value(
                    MessageId {
                        producer: 0,
                        sequence,
                    },
                    200,
                )),
                headers: Vec::new(),
                producer: None,
            })
            .collect();
        store
            .topic_for_write("t")
            .unwrap()
            .append(partition, records, 0, &client())
            .unwrap();
    }

    #[test]
    fn past_the_threshold_records_are_counted_and_deleted_and_the_audit_matches_a_full_read() {
        let store = RecordStore::new(2, true);
        store.create_topic("t", 2);
        let live = LiveAudit::start(store.clone(), "t".into(), BTreeMap::new(), 1, 100_000);
        // 2 × 1,000 messages of 200 B: about 400 kB, four times the threshold.
        for chunk in 0..10 {
            append(
                &store,
                chunk % 2,
                chunk as u64 * 200..(chunk as u64 + 1) * 200,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while store.memory().used_bytes > 100_000 {
            assert!(
                Instant::now() < deadline,
                "the audit trims the store within 60 s: {} bytes held",
                store.memory().used_bytes
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // A duplicate after trimming still counts, as do the records left unread.
        append(&store, 1, 0..1);
        let progress = live.stop();
        assert!(progress.trimmed > 0, "it deleted what it counted");
        let log = store.topic("t").unwrap();
        let mut tally = progress.tally;
        for partition in 0..2 {
            let from = progress.next.get(&partition).copied().unwrap_or(0) as i64;
            for record in log.read(partition, from, usize::MAX).unwrap() {
                tally.observe(SeenRecord {
                    partition,
                    value: record.value.as_deref(),
                });
            }
        }
        let mut acked = SequenceSet::new();
        for sequence in 0..2_000 {
            if sequence != 7 {
                acked.insert(sequence);
            }
        }
        let acknowledged = Acknowledged {
            acked: vec![acked],
            sent: vec![2_000],
        };
        let counts = tally.finish(&acknowledged);
        assert_eq!(counts.recorded, 2_001);
        assert_eq!(counts.duplicates, 1);
        assert_eq!(counts.lost, 0);
        assert_eq!(
            counts.unacknowledged_recorded, 1,
            "sequence 7 was never acknowledged"
        );
        // The same records read in one go at the end audit the same.
        let mut builder = ValueBuilder::new();
        let all: Vec<(u32, Bytes)> = (0..10u64)
            .flat_map(|chunk| {
                (chunk * 200..(chunk + 1) * 200).map(move |s| ((chunk % 2) as u32, s))
            })
            .chain([(1, 0)])
            .map(|(partition, sequence)| {
                (
                    partition,
                    builder.value(
                        MessageId {
                            producer: 0,
                            sequence,
                        },
                        200,
                    ),
                )
            })
            .collect();
        let in_one_go = audit(
            &acknowledged,
            all.iter().map(|(partition, value)| SeenRecord {
                partition: *partition,
                value: Some(value),
            }),
        );
        assert_eq!(counts, in_one_go);
    }

    #[test]
    fn below_the_threshold_nothing_is_read_or_deleted() {
        let store = RecordStore::new(1, true);
        store.create_topic("t", 1);
        let live = LiveAudit::start(store.clone(), "t".into(), BTreeMap::new(), 1, u64::MAX);
        append(&store, 0, 0..100);
        let progress = live.stop();
        assert_eq!(progress.trimmed, 0);
        assert_eq!(progress.tally.recorded(), 0);
        assert_eq!(store.topic("t").unwrap().log_start_offset(0).unwrap(), 0);
    }
}
