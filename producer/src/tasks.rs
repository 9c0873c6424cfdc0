//! The producer's background tasks (the sender, each connection's reader and
//! writer, metadata refreshes, epoch bumps): every one is spawned tracked, told
//! to stop when the producer is closed or dropped, and waited for by `close`.

use std::future::Future;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

/// Spawns and tracks the producer's background tasks; cheap to clone, every
/// clone tracks the same tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    /// Spawns `task`, which must end by itself soon after [`Tasks::stopped`] fires.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task);
    }

    /// Spawns `task`, which is dropped where it stands once the producer stops.
    pub(crate) fn spawn_until_stopped<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                biased;
                () = stop.cancelled() => {}
                () = task => {}
            }
        });
    }

    /// Fires once the producer stops.
    pub(crate) fn stopped(&self) -> WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }

    /// A token cancelled when the producer stops, or earlier by its holder
    /// (a connection that breaks stops its own tasks).
    pub(crate) fn child_token(&self) -> CancellationToken {
        self.stop.child_token()
    }

    /// Tells every task to stop, without waiting (what dropping the producer does).
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    /// Tells every task to stop and waits until all have ended, including any
    /// spawned while they stop.
    pub(crate) async fn stop_and_wait(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Counts how many of the guards it hands out were dropped.
    #[derive(Default)]
    struct Ended(Arc<AtomicUsize>);

    struct Guard(Arc<AtomicUsize>);

    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Ended {
        fn guard(&self) -> Guard {
            Guard(self.0.clone())
        }

        fn count(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn stop_and_wait_returns_once_every_task_has_ended() {
        let tasks = Tasks::default();
        let ended = Ended::default();
        // A task that ends by itself when told to stop, after a last await.
        let (guard, stop) = (ended.guard(), tasks.child_token());
        tasks.spawn(async move {
            stop.cancelled().await;
            tokio::task::yield_now().await;
            drop(guard);
        });
        // A task that never ends by itself.
        let guard = ended.guard();
        tasks.spawn_until_stopped(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        tokio::time::timeout(Duration::from_secs(10), tasks.stop_and_wait())
            .await
            .expect("every task ends");
        assert_eq!(ended.count(), 2);
    }

    #[tokio::test]
    async fn a_task_spawned_after_the_stop_is_waited_for_too() {
        let tasks = Tasks::default();
        let ended = Ended::default();
        tasks.stop();
        let guard = ended.guard();
        tasks.spawn_until_stopped(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        tokio::time::timeout(Duration::from_secs(10), tasks.stop_and_wait())
            .await
            .expect("every task ends");
        assert_eq!(ended.count(), 1);
    }
}
