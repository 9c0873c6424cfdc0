//! The `--record-file`: every recorded message appended to a file as one JSON line.
//!
//! Flush policy: each [`RecordSink::write`] call (one produce request's records
//! for one partition) is serialized into one buffer, handed to the operating
//! system with a single `write_all`, and flushed before the call returns, so
//! nothing is left in user-space buffers when the producer is acknowledged.
//! There is no `fsync`: a crash of the broker process loses nothing it
//! acknowledged, a crash of the machine can lose the file's tail.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::record_json::RecordJson;
use crate::store::{RecordSink, StoredRecord};

/// An append-only JSON-lines file of recorded messages, shared by every partition.
#[derive(Debug)]
pub(crate) struct RecordFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl RecordFile {
    /// Opens `path` for appending, creating it if it does not exist.
    ///
    /// # Errors
    /// Whatever the operating system says (missing directory, permissions, …).
    pub(crate) fn open(path: &Path) -> io::Result<RecordFile> {
        let file = OpenOptions::new().append(true).create(true).open(path)?;
        Ok(RecordFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// `error` with the file's path in front, so the user knows which file failed.
    fn named(&self, error: io::Error) -> io::Error {
        io::Error::new(error.kind(), format!("{}: {error}", self.path.display()))
    }
}

impl RecordSink for RecordFile {
    fn write(&self, topic: &str, records: &[StoredRecord]) -> io::Result<()> {
        // Serialize before taking the lock: other partitions wait only for the write itself.
        let mut lines = Vec::with_capacity(records.len() * 256);
        for record in records {
            serde_json::to_writer(&mut lines, &RecordJson::new(topic, record))?;
            lines.push(b'\n');
        }
        // Nothing panics while the lock is held, so a poisoned lock guards a sound file.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let before = file.metadata().map_err(|e| self.named(e))?.len();
        if let Err(e) = file.write_all(&lines).and_then(|()| file.flush()) {
            // The append is refused: take back any partial write so that the file
            // holds neither a refused record nor half a line.
            if let Err(undo) = file.set_len(before) {
                tracing::error!(path = %self.path.display(), error = %undo, "cannot remove a partial write from the record file");
            }
            return Err(self.named(e));
        }
        Ok(())
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
        store.set_sink(Arc::new(RecordFile::open(&path).unwrap()));
        let topic = store.topic_for_write("t").unwrap();
        topic
            .append(0, [record("a"), record("b")], 1, &client())
            .unwrap();
        topic.append(0, [record("c")], 2, &client()).unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "earlier line");
        let values: Vec<(i64, String)> = lines[1..]
            .iter()
            .map(|line| {
                let json: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    json["offset"].as_i64().unwrap(),
                    json["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            values,
            vec![(0, "a".into()), (1, "b".into()), (2, "c".into())]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_names_the_file_and_refuses_the_append() {
        // Every write to /dev/full fails with "no space left on device".
        let path = Path::new("/dev/full");
        let store = RecordStore::new(1, true);
        store.set_sink(Arc::new(RecordFile::open(path).unwrap()));
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
