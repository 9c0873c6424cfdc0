//! Why a scenario cannot be used, naming the file, the line and the key at fault.

use std::path::PathBuf;

use super::location;

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {}: {error}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why the operating system refused.
        error: std::io::Error,
    },
    /// The file is not valid TOML, or not a valid scenario.
    #[error("invalid scenario {}{}: {reason}", file.display(), location::describe(*line, key.as_deref()))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The line at fault, when known (1-based).
        line: Option<usize>,
        /// The dotted path of the key at fault, when known, such as `workload.message_size`.
        key: Option<String>,
        /// What is wrong and what is allowed.
        reason: String,
    },
}
