//! The users a SASL listener accepts: each user's password for PLAIN and its salted
//! SCRAM credentials, derived once at startup.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::scram::{ScramCredential, ScramHash};

/// The SCRAM iteration count of every user: Kafka's minimum (and librdkafka's and
/// kafkajs's expectation) for SCRAM-SHA-256 and SCRAM-SHA-512.
pub(crate) const SCRAM_ITERATIONS: u32 = 4096;

/// One user of the SASL listeners.
#[derive(Clone)]
struct User {
    password: String,
    scram_sha256: ScramCredential,
    scram_sha512: ScramCredential,
}

/// The users the SASL listeners accept, by name.
///
/// Memory: a few hundred bytes per user; the users are what the configuration lists.
#[derive(Default, Clone)]
pub(crate) struct Credentials {
    users: HashMap<String, User>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the passwords.
        let mut names: Vec<&str> = self.users.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Credentials")
            .field("users", &names)
            .finish()
    }
}

/// A user entry that cannot be used, naming where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CredentialsError {
    /// An entry that is not `NAME:PASSWORD` with both parts non-empty.
    #[error("{origin}: {entry:?} is not NAME:PASSWORD (both non-empty, the name without ':')")]
    Malformed {
        /// Where the entry came from: `--sasl-user`, or `FILE line N`.
        origin: String,
        /// The entry, with its password hidden.
        entry: String,
    },
    /// The users file cannot be read.
    #[error("cannot read the SASL users file {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: String,
    },
}

impl Credentials {
    /// The users of `entries` (`NAME:PASSWORD` each, from `--sasl-user`) and of the
    /// users file, if any (one `NAME:PASSWORD` a line; blank lines and lines starting
    /// with `#` are skipped). A name given twice keeps its last password.
    ///
    /// # Errors
    /// [`CredentialsError`] naming the entry (its password hidden) or the file.
    pub(crate) fn load(
        entries: &[String],
        file: Option<&Path>,
    ) -> Result<Credentials, CredentialsError> {
        let mut parsed = Vec::new();
        for entry in entries {
            parsed.push(parse_entry(entry, "sasl_users (--sasl-user)")?);
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| CredentialsError::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            })?;
            for (index, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let origin = format!("{} line {}", path.display(), index + 1);
                parsed.push(parse_entry(line, &origin)?);
            }
        }
        let mut credentials = Credentials::default();
        for (name, password) in parsed {
            credentials.add(name, password);
        }
        Ok(credentials)
    }

    /// Adds (or replaces) a user, deriving its SCRAM credentials with a fresh salt.
    pub(crate) fn add(&mut self, name: String, password: String) {
        self.add_with_iterations(name, password, SCRAM_ITERATIONS);
    }

    /// [`Credentials::add`] with another SCRAM iteration count than Kafka's minimum: for the
    /// fuzz targets only, where each exchange would otherwise spend milliseconds salting the
    /// password (the count is a cost, no branch of the exchange depends on its size).
    pub(crate) fn add_with_iterations(&mut self, name: String, password: String, iterations: u32) {
        let user = User {
            scram_sha256: ScramCredential::derive(
                ScramHash::Sha256,
                &password,
                &fresh_salt(),
                iterations,
            ),
            scram_sha512: ScramCredential::derive(
                ScramHash::Sha512,
                &password,
                &fresh_salt(),
                iterations,
            ),
            password,
        };
        self.users.insert(name, user);
    }

    /// How many users there are.
    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether `name` exists with exactly `password` (PLAIN).
    pub(crate) fn password_matches(&self, name: &str, password: &str) -> bool {
        self.users.get(name).is_some_and(|user| {
            // Compared without an early exit, as SCRAM keys are.
            super::scram::same_bytes(user.password.as_bytes(), password.as_bytes())
        })
    }

    /// `name`'s SCRAM credential for `hash`, if the user exists.
    pub(crate) fn scram(&self, name: &str, hash: ScramHash) -> Option<&ScramCredential> {
        self.users.get(name).map(|user| match hash {
            ScramHash::Sha256 => &user.scram_sha256,
            ScramHash::Sha512 => &user.scram_sha512,
        })
    }
}

/// Checks that `entry` is `NAME:PASSWORD`, naming `origin` if not.
///
/// # Errors
/// [`CredentialsError::Malformed`], the password hidden.
pub(crate) fn check_entry(entry: &str, origin: &str) -> Result<(), CredentialsError> {
    parse_entry(entry, origin).map(|_| ())
}

/// `NAME:PASSWORD`, split at the first `:` (so a password may hold `:`).
fn parse_entry(entry: &str, origin: &str) -> Result<(String, String), CredentialsError> {
    match entry.split_once(':') {
        Some((name, password)) if !name.trim().is_empty() && !password.is_empty() => {
            Ok((name.trim().to_string(), password.to_string()))
        }
        _ => Err(CredentialsError::Malformed {
            origin: origin.to_string(),
            entry: match entry.split_once(':') {
                Some((name, _)) => format!("{name}:***"),
                None => entry.to_string(),
            },
        }),
    }
}

/// 16 random bytes: a SCRAM salt, fresh for each user and mechanism.
fn fresh_salt() -> [u8; 16] {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_at_the_first_colon() {
        let credentials = Credentials::load(&["alice:pa:ss".into()], None).unwrap();
        assert!(credentials.password_matches("alice", "pa:ss"));
        assert!(!credentials.password_matches("alice", "pa"));
        assert!(!credentials.password_matches("bob", "pa:ss"));
    }

    #[test]
    fn a_malformed_entry_is_named_without_its_password() {
        for entry in ["alice", ":secret", "alice:"] {
            let error = Credentials::load(&[entry.into()], None)
                .unwrap_err()
                .to_string();
            assert!(error.contains("--sasl-user"), "{error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn the_users_file_skips_comments_and_names_the_bad_line() {
        let dir = std::env::temp_dir().join(format!("sasl-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        std::fs::write(&path, "# users\n\nalice:one\nbob:two\n").unwrap();
        let credentials = Credentials::load(&[], Some(&path)).unwrap();
        assert_eq!(credentials.len(), 2);
        assert!(credentials.password_matches("bob", "two"));
        std::fs::write(&path, "alice:one\nbob\n").unwrap();
        let error = Credentials::load(&[], Some(&path)).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
        let missing = Credentials::load(&[], Some(&dir.join("absent"))).unwrap_err();
        assert!(missing.to_string().contains("absent"), "{missing}");
    }

    #[test]
    fn debug_output_never_shows_passwords() {
        let credentials = Credentials::load(&["alice:hunter2".into()], None).unwrap();
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
