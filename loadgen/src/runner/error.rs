//! Why a run stopped before its end.

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
}
