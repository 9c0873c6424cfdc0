//! Why a run stopped before its end.

use std::time::Duration;

use super::progress_watch::Stuck;
use crate::faults::FaultsError;
use crate::target::TargetError;

/// Why a run stopped before its end.
///
/// Each message includes its cause; none is repeated as an error source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The broker could not be started or reached.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A producer instance's task panicked: a bug in loadgen.
    #[error("a producer instance's task failed: {0}")]
    Task(tokio::task::JoinError),
    /// A stop request came before the first phase started.
    #[error("interrupted before the first phase started")]
    Interrupted,
    /// The broker refused a `[[faults]]` rule, or has no admin API to set it through.
    #[error(transparent)]
    Faults(#[from] FaultsError),
    /// No send succeeded for `[target] max_failing` while sends failed or waited.
    #[error(
        "gave up: no send to the {broker} succeeded for {} ([target] max_failing = {}){}",
        shown(&stuck.stalled),
        shown(limit),
        cause(stuck)
    )]
    NoProgress {
        /// The broker, as `embedded broker at …` / `external broker at …`.
        broker: String,
        /// The limit that was reached.
        limit: Duration,
        /// What the run was stuck on.
        stuck: Stuck,
    },
}

/// What a stuck run last saw: the producers' latest error, or the sends left unanswered.
fn cause(stuck: &Stuck) -> String {
    match &stuck.last_error {
        Some(error) => format!("; last error: {error}"),
        None => format!(
            "; {} sends waiting for an answer, none failed yet",
            stuck.waiting
        ),
    }
}

/// A duration to the millisecond, as scenarios write it (`5s`, `2s 500ms`).
fn shown(duration: &Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_millis(millis)).to_string()
}
