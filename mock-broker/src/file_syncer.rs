//! The record file's fsyncs: a thread that makes what was written durable,
//! one fsync for every write queued while the previous one ran (group commit).
//!
//! Writers report how far the file has been written ([`FileSyncer::written`]);
//! the thread fsyncs up to that point, then publishes how far the file is
//! durable on a `watch` channel, where [`FileSyncer::durable`] waits.
//! With `--fsync always` the thread starts an fsync as soon as something is
//! written; with `interval` it looks every interval. An fsync failure is
//! final: fsync cannot be retried safely (the kernel may have dropped the
//! dirty pages), so every later wait fails with it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::fsync_policy::FsyncPolicy;

/// How far the file is durable, or why it no longer can be.
#[derive(Debug, Clone, Default)]
struct Synced {
    /// Bytes of the file known to be on stable storage.
    upto: u64,
    /// The fsync error that ended syncing, if one did.
    failed: Option<Arc<str>>,
}

/// What writers tell the thread.
#[derive(Debug, Default)]
struct Progress {
    /// Bytes of the file written so far.
    written: u64,
    /// Set when the file is closed: sync what is left and end.
    stop: bool,
}

#[derive(Debug)]
struct Shared {
    progress: Mutex<Progress>,
    wake: Condvar,
}

/// The thread that fsyncs the record file, and the means to wait for it.
#[derive(Debug)]
pub(crate) struct FileSyncer {
    policy: FsyncPolicy,
    shared: Arc<Shared>,
    synced: watch::Receiver<Synced>,
    thread: Option<JoinHandle<()>>,
}

impl FileSyncer {
    /// Starts syncing `file` (a handle on the record file at `path`, whose first
    /// `length` bytes are taken as durable) under `policy`; `never` starts no thread.
    ///
    /// # Errors
    /// The operating system refusing a thread.
    pub(crate) fn start(
        file: File,
        path: PathBuf,
        length: u64,
        policy: FsyncPolicy,
        interval: Duration,
    ) -> std::io::Result<FileSyncer> {
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress {
                written: length,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let (tx, synced) = watch::channel(Synced {
            upto: length,
            failed: None,
        });
        let thread = match policy {
            FsyncPolicy::Never => None,
            FsyncPolicy::Always | FsyncPolicy::Interval => {
                let shared = shared.clone();
                let wait = (policy == FsyncPolicy::Interval).then_some(interval);
                Some(
                    std::thread::Builder::new()
                        .name("record-file-fsync".into())
                        .spawn(move || sync_loop(&file, &path, &shared, &tx, length, wait))?,
                )
            }
        };
        Ok(FileSyncer {
            policy,
            shared,
            synced,
            thread,
        })
    }

    /// The file has now been written up to `end` bytes.
    pub(crate) fn written(&self, end: u64) {
        let mut progress = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        progress.written = progress.written.max(end);
        drop(progress);
        if self.policy == FsyncPolicy::Always {
            self.shared.wake.notify_one();
        }
    }

    /// How many bytes of the file are known to be durable.
    #[cfg(test)]
    pub(crate) fn synced_upto(&self) -> u64 {
        self.synced.borrow().upto
    }

    /// The fsync error that ended syncing, if one did: with `always`, nothing more
    /// may be acknowledged.
    pub(crate) fn failure(&self) -> Option<Arc<str>> {
        self.synced.borrow().failed.clone()
    }

    /// With `always`, waits until everything written so far is durable; at once otherwise.
    ///
    /// # Errors
    /// The fsync failure that makes it impossible.
    pub(crate) async fn durable(&self) -> Result<(), Arc<str>> {
        let target = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .written;
        self.durable_upto(target).await
    }

    /// With `always`, waits until the file's first `target` bytes are durable; at once otherwise.
    ///
    /// # Errors
    /// The fsync failure that makes it impossible.
    pub(crate) async fn durable_upto(&self, target: u64) -> Result<(), Arc<str>> {
        if self.policy != FsyncPolicy::Always {
            return Ok(());
        }
        let mut synced = self.synced.clone();
        let reached = synced
            .wait_for(|s| s.upto >= target || s.failed.is_some())
            .await;
        match reached {
            Ok(s) => match &s.failed {
                Some(failed) if s.upto < target => Err(failed.clone()),
                _ => Ok(()),
            },
            Err(_) => Err("the record file's fsync thread has ended".into()),
        }
    }
}

impl Drop for FileSyncer {
    /// Syncs what is left (a graceful shutdown leaves a durable file) and ends the thread.
    fn drop(&mut self) {
        self.shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: wait for unsynced bytes (at once with `always`, every `interval`
/// otherwise), fsync them, publish; until stopped, with a last fsync then.
fn sync_loop(
    file: &File,
    path: &std::path::Path,
    shared: &Shared,
    tx: &watch::Sender<Synced>,
    mut synced: u64,
    interval: Option<Duration>,
) {
    loop {
        let (target, stop) = {
            let mut progress = shared
                .progress
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match interval {
                None => {
                    while progress.written <= synced && !progress.stop {
                        progress = shared
                            .wake
                            .wait(progress)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
                Some(interval) => {
                    if !progress.stop {
                        progress = shared
                            .wake
                            .wait_timeout(progress, interval)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                }
            }
            (progress.written, progress.stop)
        };
        if target > synced {
            if let Err(e) = file.sync_data() {
                let reason: Arc<str> =
                    format!("cannot fsync the record file {}: {e}", path.display()).into();
                tracing::error!("{reason}; nothing more is acknowledged under --fsync always");
                tx.send_modify(|s| s.failed = Some(reason));
                return;
            }
            synced = target;
            tx.send_modify(|s| s.upto = synced);
        }
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn temp_file(name: &str) -> (PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("file-syncer-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        (path, file)
    }

    #[tokio::test]
    async fn with_always_a_wait_returns_once_an_fsync_covers_what_was_written() {
        let (path, mut file) = temp_file("always");
        let syncer = FileSyncer::start(
            file.try_clone().unwrap(),
            path.clone(),
            0,
            FsyncPolicy::Always,
            Duration::from_secs(1),
        )
        .unwrap();
        for _ in 0..3 {
            file.write_all(b"line\n").unwrap();
            let end = file.metadata().unwrap().len();
            syncer.written(end);
            syncer.durable().await.unwrap();
            assert!(syncer.synced.borrow().upto >= end);
        }
        assert!(syncer.failure().is_none());
    }

    #[tokio::test]
    async fn never_and_interval_do_not_make_responses_wait() {
        for policy in [FsyncPolicy::Never, FsyncPolicy::Interval] {
            let (path, file) = temp_file(policy.name());
            // An hour's interval: a wait that depended on an fsync would hang the test.
            let syncer =
                FileSyncer::start(file, path, 0, policy, Duration::from_secs(3600)).unwrap();
            syncer.written(100);
            syncer.durable().await.unwrap();
            assert_eq!(syncer.synced.borrow().upto, 0);
        }
    }

    #[test]
    fn dropping_an_interval_syncer_syncs_what_is_left() {
        let (path, file) = temp_file("drop");
        let syncer = FileSyncer::start(
            file,
            path,
            0,
            FsyncPolicy::Interval,
            Duration::from_secs(3600),
        )
        .unwrap();
        syncer.written(5);
        let synced = syncer.synced.clone();
        drop(syncer);
        assert_eq!(synced.borrow().upto, 5);
    }
}
