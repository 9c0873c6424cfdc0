//! When the record file is fsynced: `--fsync always | interval | never`.

use serde::{Deserialize, Serialize};

/// When the `--record-file` is forced to stable storage.
///
/// Every policy hands each append to the operating system before the producer is
/// answered, so a crash of the broker process alone loses nothing acknowledged;
/// the policies differ in what a crash of the machine (or power) can lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FsyncPolicy {
    /// A response to a request that wrote to the file is sent only after an
    /// fsync covering that write: nothing acknowledged is lost. Writes queued
    /// during one fsync share the next (group commit).
    Always,
    /// The file is fsynced in the background every `fsync_interval_ms` while it
    /// has unsynced writes, and at a graceful shutdown: a machine crash loses
    /// at most that long of acknowledged records. Responses never wait.
    #[default]
    Interval,
    /// Never fsynced by the broker: the operating system writes the file back
    /// when it chooses.
    Never,
}

impl FsyncPolicy {
    /// The policy's name, as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::Interval => "interval",
            FsyncPolicy::Never => "never",
        }
    }
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;

    /// `always`, `interval` or `never`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "always" => Ok(FsyncPolicy::Always),
            "interval" => Ok(FsyncPolicy::Interval),
            "never" => Ok(FsyncPolicy::Never),
            other => Err(format!(
                "fsync policy {other:?} is not one of \"always\", \"interval\", \"never\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_anything_else_is_named_in_the_error() {
        for policy in [
            FsyncPolicy::Always,
            FsyncPolicy::Interval,
            FsyncPolicy::Never,
        ] {
            assert_eq!(policy.name().parse::<FsyncPolicy>(), Ok(policy));
        }
        let err = "sometimes".parse::<FsyncPolicy>().unwrap_err();
        assert!(err.contains("\"sometimes\""), "{err}");
    }
}
