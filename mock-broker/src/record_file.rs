//! The `--record-file`: every recorded message appended to a file as one JSON line.
//!
//! Each [`RecordSink::write`] call (one produce request's records for one
//! partition) is serialized into one buffer and handed to the operating system
//! with a single `write_all` before the call returns, so nothing is left in
//! user-space buffers when the producer is acknowledged: a crash of the broker
//! process loses nothing it acknowledged. What a crash of the machine can lose
//! is the [`FsyncPolicy`]'s business, carried out by `file_syncer.rs`; with
//! `always`, the connection waits for [`RecordFile::durable`] before it sends
//! its responses: for the fsync covering its own writes ([`track_writes`]).

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::file_syncer::FileSyncer;
use crate::fsync_policy::FsyncPolicy;
use crate::record_json::RecordJson;
use crate::record_line::EventLine;
use crate::store::{RecordSink, StoreEvent, StoredRecord};

tokio::task_local! {
    /// How far the record file had been written by this task's last write, 0
    /// after a wait: a connection waits for its own writes only.
    static WRITTEN_HERE: Cell<u64>;
}

/// Runs `future` (a connection) noting how far its own writes reach, for [`RecordFile::durable`].
pub(crate) async fn track_writes<F: Future>(future: F) -> F::Output {
    WRITTEN_HERE.scope(Cell::new(0), future).await
}

/// An append-only JSON-lines file of recorded messages, shared by every partition.
#[derive(Debug)]
pub(crate) struct RecordFile {
    path: PathBuf,
    file: Mutex<File>,
    policy: FsyncPolicy,
    syncer: FileSyncer,
}

impl RecordFile {
    /// Opens `path` for appending, creating it if it does not exist, fsynced as
    /// `policy` says (`interval` apart, for [`FsyncPolicy::Interval`]).
    ///
    /// # Errors
    /// Whatever the operating system says (missing directory, permissions, …).
    pub(crate) fn open(
        path: &Path,
        policy: FsyncPolicy,
        interval: Duration,
    ) -> io::Result<RecordFile> {
        let file = OpenOptions::new().append(true).create(true).open(path)?;
        let length = file.metadata()?.len();
        let syncer = FileSyncer::start(
            file.try_clone()?,
            path.to_path_buf(),
            length,
            policy,
            interval,
        )?;
        Ok(RecordFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            policy,
            syncer,
        })
    }

    /// With `--fsync always`, waits until every line written so far is fsynced;
    /// at once otherwise. Connections call it before sending responses, so that
    /// nothing is acknowledged before it is durable.
    ///
    /// # Errors
    /// The fsync failure that makes it impossible, naming the file.
    /// Inside [`track_writes`] it waits only for what the task itself wrote
    /// since its last wait (nothing: no wait); elsewhere, for everything.
    pub(crate) async fn durable(&self) -> Result<(), Arc<str>> {
        match WRITTEN_HERE.try_with(|end| end.replace(0)) {
            Ok(0) => Ok(()),
            Ok(end) => self.syncer.durable_upto(end).await,
            Err(_) => self.syncer.durable().await,
        }
    }

    /// `error` with the file's path in front, so the user knows which file failed.
    fn named(&self, error: io::Error) -> io::Error {
        io::Error::new(error.kind(), format!("{}: {error}", self.path.display()))
    }
}

impl RecordFile {
    /// Writes `event` as one line.
    ///
    /// # Errors
    /// Whatever the operating system says, naming the file; nothing is left of the line then.
    pub(crate) fn write_event(&self, event: &EventLine) -> io::Result<()> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        self.append(&line)
    }

    /// Fsyncs everything written so far, unless the policy is `never`: a
    /// graceful shutdown leaves the file on stable storage.
    ///
    /// # Errors
    /// The fsync's, naming the file.
    pub(crate) fn sync(&self) -> io::Result<()> {
        if self.policy == FsyncPolicy::Never {
            return Ok(());
        }
        let file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.sync_data().map_err(|e| self.named(e))
    }

    /// Writes `event` as one line; a failure is logged, since the change it
    /// describes has been made (a replay will not know it).
    pub(crate) fn note(&self, event: &EventLine) {
        if let Err(e) = self.write_event(event) {
            tracing::error!(error = %e, ?event, "cannot write to the record file; a replay will not know this");
        }
    }

    /// Appends whole `lines` with one write, or nothing.
    fn append(&self, lines: &[u8]) -> io::Result<()> {
        if let Some(failed) = self.syncer.failure() {
            return Err(io::Error::other(failed.to_string()));
        }
        // Nothing panics while the lock is held, so a poisoned lock guards a sound file.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let before = file.metadata().map_err(|e| self.named(e))?.len();
        if let Err(e) = file.write_all(lines).and_then(|()| file.flush()) {
            // The append is refused: take back any partial write so that the file
            // holds neither a refused record nor half a line.
            if let Err(undo) = file.set_len(before) {
                tracing::error!(path = %self.path.display(), error = %undo, "cannot remove a partial write from the record file");
            }
            return Err(self.named(e));
        }
        let end = before + lines.len() as u64;
        self.syncer.written(end);
        // Outside a connection (a timer, the admin API) nobody waits for it.
        let _ = WRITTEN_HERE.try_with(|here| here.set(here.get().max(end)));
        Ok(())
    }
}

impl RecordSink for RecordFile {
    fn write(&self, topic: &str, records: &[StoredRecord]) -> io::Result<()> {
        // Serialize before taking the lock: other partitions wait only for the write itself.
        let mut lines = Vec::with_capacity(records.len() * 256);
        // Each partition's first offset in this append: its records' `base_offset`.
        let mut bases: Vec<(u32, i64)> = Vec::new();
        for record in records {
            let base = match bases.iter().find(|(p, _)| *p == record.partition) {
                Some(&(_, base)) => base,
                None => {
                    bases.push((record.partition, record.offset));
                    record.offset
                }
            };
            serde_json::to_writer(&mut lines, &RecordJson::new(topic, record))?;
            // The record's object, then one field more: `…}` becomes `…,"base_offset":N}`.
            lines.pop();
            lines.extend_from_slice(b",\"base_offset\":");
            lines.extend_from_slice(base.to_string().as_bytes());
            lines.extend_from_slice(b"}\n");
        }
        self.append(&lines)
    }

    fn event(&self, event: StoreEvent<'_>) -> io::Result<()> {
        let line = match event {
            StoreEvent::TopicCreated {
                topic,
                id,
                partitions,
                replication_factor,
                config,
            } => EventLine::Topic {
                topic: topic.into(),
                id: id.to_string(),
                partitions,
                replication_factor,
                config: config.clone(),
            },
            StoreEvent::PartitionsAdded { topic, partitions } => EventLine::Partitions {
                topic: topic.into(),
                partitions,
            },
            StoreEvent::ConfigChanged { topic, config } => EventLine::TopicConfig {
                topic: topic.into(),
                config: config.clone(),
            },
            StoreEvent::LogStartMoved {
                topic,
                partition,
                offset,
            } => EventLine::LogStart {
                topic: topic.into(),
                partition,
                offset,
            },
            StoreEvent::TopicDeleted { topic } => EventLine::TopicDeleted {
                topic: topic.into(),
            },
            StoreEvent::Reset => EventLine::Reset {},
        };
        self.write_event(&line)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::store::{ClientInfo, NewRecord, Protocol, RecordStore};

    fn record(value: &'static str) -> NewRecord {
        NewRecord {
            timestamp: None,
            key: None,
            value: Some(Bytes::from_static(value.as_bytes())),
            headers: Vec::new(),
            producer: None,
        }
    }

    fn client() -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Frame,
            client_id: None,
        })
    }

    #[test]
    fn appends_one_line_per_record_after_what_the_file_already_holds() {
        let dir = std::env::temp_dir().join(format!("record-file-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.jsonl");
        std::fs::write(&path, "earlier line\n").unwrap();
        let store = RecordStore::new(1, true);
        store.set_sink(Arc::new(
            RecordFile::open(&path, FsyncPolicy::Always, Duration::from_secs(1)).unwrap(),
        ));
        let topic = store.topic_for_write("t").unwrap();
        topic
            .append(0, [record("a"), record("b")], 1, &client())
            .unwrap();
        topic.append(0, [record("c")], 2, &client()).unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[0], "earlier line");
        let created: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(created["kind"], "topic");
        assert_eq!(created["topic"], "t");
        assert_eq!(created["partitions"], 1);
        assert_eq!(created["id"], topic.id().to_string());
        let values: Vec<(i64, String, i64)> = lines[2..]
            .iter()
            .map(|line| {
                let json: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    json["offset"].as_i64().unwrap(),
                    json["value"].as_str().unwrap().to_string(),
                    json["base_offset"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            values,
            vec![(0, "a".into(), 0), (1, "b".into(), 0), (2, "c".into(), 2)],
            "each record names the first offset of the append it arrived in"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_connection_waits_for_its_own_writes_and_not_again_once_they_are_durable() {
        let dir = std::env::temp_dir().join(format!("record-file-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.jsonl");
        let _ = std::fs::remove_file(&path);
        let file =
            Arc::new(RecordFile::open(&path, FsyncPolicy::Always, Duration::from_secs(1)).unwrap());
        let store = RecordStore::new(1, true);
        store.set_sink(file.clone());
        // Outside any connection: a write notes nothing for a task to wait for.
        store
            .topic_for_write("t")
            .unwrap()
            .append(0, [record("a")], 1, &client())
            .unwrap();
        track_writes(async {
            assert_eq!(WRITTEN_HERE.with(Cell::get), 0, "nothing written here yet");
            file.durable().await.unwrap();
            store
                .topic_for_write("t")
                .unwrap()
                .append(0, [record("b")], 2, &client())
                .unwrap();
            let end = std::fs::metadata(&path).unwrap().len();
            assert_eq!(
                WRITTEN_HERE.with(Cell::get),
                end,
                "this task wrote up to the end"
            );
            file.durable().await.unwrap();
            assert!(
                file.syncer.synced_upto() >= end,
                "waited for an fsync covering it"
            );
            assert_eq!(
                WRITTEN_HERE.with(Cell::get),
                0,
                "and forgets it once durable"
            );
        })
        .await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_names_the_file_and_refuses_the_append() {
        // Every write to /dev/full fails with "no space left on device".
        let path = Path::new("/dev/full");
        let store = RecordStore::new(1, true);
        store.set_sink(Arc::new(
            RecordFile::open(path, FsyncPolicy::Never, Duration::from_secs(1)).unwrap(),
        ));
        let err = store
            .topic_for_write("t")
            .unwrap()
            .append(0, [record("a")], 1, &client())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/dev/full"), "{err}");
        assert_eq!(store.record_count(), 0);
    }
}
