//! The scenario: which broker to load, with what messages, and how fast.
//!
//! A scenario is read from a TOML file and validated whole before anything
//! runs: every key must be known and every value in range, and an error names
//! the file, the line and the key at fault. `docs/scenarios.md` is the
//! reference for the schema.
//!
//! Each table's types live in a module of their own ([`Target`], [`Workload`]
//! with its [`Keys`] and [`MessageSize`], [`Phase`] with its [`Rate`],
//! [`Thresholds`]), over the shared value checks of `fields`; this module
//! reads the file whole and checks what spans several tables.

mod error;
mod fields;
mod keys;
mod location;
mod message_size;
mod phase;
mod rate;
mod settings;
mod target;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod thresholds;
mod window;
mod workload;
#[cfg(test)]
mod workload_tests;

use std::path::Path;

use mock_broker::fault::FaultSpec;
use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use crate::shard::Shard;

pub use error::ScenarioError;
pub use fields::{
    MAX_DURATION, MAX_HEADERS, MAX_IN_FLIGHT, MAX_PARTITIONS, MAX_PHASE_MESSAGES, MAX_PRODUCERS,
    parse_duration,
};
pub use keys::Keys;
pub use message_size::{MIN_MESSAGE_SIZE, MessageSize, SizeDistribution};
pub use phase::{Phase, PhaseLength};
pub use rate::Rate;
pub use target::{BrokerSpec, DEFAULT_MAX_FAILING, Protocol, Target};
pub use thresholds::{MinThroughput, Thresholds};
pub use window::Window;
pub use workload::Workload;

/// A validated scenario: what the runner runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name, printed in the summary.
    pub name: String,
    /// What the scenario is for.
    pub description: String,
    /// The broker to send to, and how.
    pub target: Target,
    /// Settings of every producer instance. The runner fills in `protocol`
    /// (from [`Target::protocol`]), `broker_address` (from [`Target::broker`])
    /// and `topic` (from [`Workload::topic`]); the values here are not used.
    pub producer: producer::Config,
    /// What is sent, by how many producer instances.
    pub workload: Workload,
    /// The phases, run in order; at least one is recorded.
    pub phases: Vec<Phase>,
    /// The `[thresholds]` table; without it, a run fails when any send fails.
    pub thresholds: Option<Thresholds>,
    /// The `[[faults]]` rules (`docs/faults.md`), put in force on the broker
    /// when the first phase starts; their `at` counts from then.
    pub faults: Vec<FaultSpec>,
    /// The part of the run this process runs (`run --shard K/N`); the whole by default.
    pub shard: Shard,
}

/// Top-level keys a later version of loadgen will read; rejected today with a
/// message that says so, rather than as unknown keys.
pub const RESERVED_KEYS: [&str; 1] = ["audit"];

/// `[producer]` keys that come from elsewhere in the scenario: the key and where its value comes from.
const FILLED_PRODUCER_KEYS: [(&str, &str); 5] = [
    ("protocol", "[target] protocol"),
    ("broker_address", "[target] broker (or --broker)"),
    ("bootstrap.servers", "[target] broker (or --broker)"),
    ("bootstrap_servers", "[target] broker (or --broker)"),
    ("topic", "[workload] topic (or --topic)"),
];

/// The client id producer instances announce when `[producer]` sets none; each adds `-<index>`.
pub const DEFAULT_CLIENT_ID: &str = "loadgen";

impl Scenario {
    /// Reads and validates a scenario file.
    ///
    /// # Errors
    /// [`ScenarioError::Read`], or [`ScenarioError::Invalid`] naming the file, line and key.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
            file: path.to_path_buf(),
            error,
        })?;
        Scenario::from_toml_str(&text, path)
    }

    /// Validates scenario TOML; `file` is only used to name it in errors.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming the file, line and key.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
        let invalid =
            |span: Option<std::ops::Range<usize>>, key: Option<String>, reason: String| {
                ScenarioError::Invalid {
                    file: file.to_path_buf(),
                    line: span.map(|s| location::line_of(text, s.start)),
                    key,
                    reason,
                }
            };
        let doc =
            DeTable::parse(text).map_err(|e| invalid(e.span(), None, e.message().to_string()))?;
        let doc = doc.get_ref();
        if let Some((key, reason)) = reserved_or_filled_key(doc) {
            return Err(invalid(Some(key.span()), Some(key.path), reason));
        }
        let raw: ScenarioToml = toml::from_str(text).map_err(|e| {
            let key = e.span().and_then(|span| location::key_at(doc, span));
            invalid(e.span(), key, e.message().to_string())
        })?;
        let client_id_set = doc
            .get("producer")
            .and_then(|p| p.get_ref().as_table())
            .is_some_and(|p| p.contains_key("client_id") || p.contains_key("client.id"));
        if let Some(reason) = compression_over_frame(&raw, doc, text) {
            let compression =
                settings::find(doc, text, "producer", &["compression", "compression.type"]);
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                line: compression.line,
                key: Some(compression.path),
                reason,
            });
        }
        raw.validate(client_id_set).map_err(|(span, key, reason)| {
            // A rule over two settings: name the line of each.
            let involved = match key.as_str() {
                "producer" if span.is_none() => settings::named_in(doc, text, &reason),
                "faults" => vec![
                    settings::find(doc, text, "target", &["broker"]),
                    settings::find(doc, text, "target", &["admin"]),
                ],
                _ => Vec::new(),
            };
            if involved.is_empty() {
                return invalid(span, Some(key), reason);
            }
            let named: Vec<String> = involved.iter().map(settings::Setting::describe).collect();
            let (line, key) = match span {
                Some(span) => (Some(location::line_of(text, span.start)), key),
                None => (
                    involved.iter().find_map(|s| s.line),
                    involved[0].path.clone(),
                ),
            };
            ScenarioError::Invalid {
                file: file.to_path_buf(),
                line,
                key: Some(key),
                reason: format!("{reason}; settings involved: {}", named.join(", ")),
            }
        })
    }

    /// The scenario `loadgen run` uses without a file: one closed-loop phase of
    /// 10 000 messages from one producer instance to an embedded broker, with
    /// the [`Workload`] defaults (topic `bench`, 100-byte values).
    pub fn command_line_default() -> Scenario {
        let mut producer = producer::Config::default();
        producer.protocol = Target::default().protocol.producer_protocol();
        producer.client_id = DEFAULT_CLIENT_ID.into();
        Scenario {
            name: "command-line".into(),
            description: "built from command-line flags".into(),
            target: Target::default(),
            producer,
            workload: Workload::default(),
            phases: vec![Phase {
                name: "main".into(),
                length: PhaseLength::Messages(10_000),
                rate: Rate::CLOSED_LOOP,
                record: true,
            }],
            thresholds: None,
            faults: Vec::new(),
            shard: Shard::WHOLE,
        }
    }
}

/// The file as serde reads it, before the checks that span several keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioToml {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    producer: Option<producer::Config>,
    #[serde(default)]
    workload: Workload,
    #[serde(default)]
    phases: Vec<Spanned<phase::PhaseToml>>,
    #[serde(default)]
    thresholds: Option<Thresholds>,
    #[serde(default)]
    faults: Vec<Spanned<FaultSpec>>,
}

type Rejection = (Option<std::ops::Range<usize>>, String, String);

impl ScenarioToml {
    fn validate(self, client_id_set: bool) -> Result<Scenario, Rejection> {
        if self.phases.is_empty() {
            return Err((
                None,
                "phases".into(),
                "no [[phases]]: a scenario needs at least one".into(),
            ));
        }
        // Converted here rather than by serde, which would report a phase's
        // error at the first [[phases]] header instead of its own.
        let mut phases: Vec<Phase> = Vec::with_capacity(self.phases.len());
        for (i, raw) in self.phases.into_iter().enumerate() {
            let span = raw.span();
            let phase = Phase::try_from(raw.into_inner())
                .map_err(|reason| (Some(span.clone()), format!("phases[{i}]"), reason))?;
            if phases.iter().any(|p| p.name == phase.name) {
                return Err((
                    Some(span),
                    format!("phases[{i}].name"),
                    format!(
                        "phase name {:?} is used twice; names must be unique",
                        phase.name
                    ),
                ));
            }
            phases.push(phase);
        }
        if !phases.iter().any(|p| p.record) {
            return Err((
                None,
                "phases".into(),
                "every phase has record = false; at least one phase must be recorded".into(),
            ));
        }
        let mut producer = self.producer.unwrap_or_default();
        producer.protocol = self.target.protocol.producer_protocol();
        if !client_id_set {
            producer.client_id = DEFAULT_CLIENT_ID.into();
        }
        // Validated as the runner will use it, so that a bad value fails now, not after startup.
        let mut filled = producer.clone();
        filled.broker_address = self.target.broker.to_string();
        filled.topic = self.workload.topic.clone();
        if let Err(e) = filled.validate() {
            let reason = match e {
                producer::Error::InvalidConfig { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err((None, "producer".into(), reason));
        }
        let faults = faults(self.faults, &self.target)?;
        Ok(Scenario {
            name: self.name,
            description: self.description,
            target: self.target,
            producer,
            workload: self.workload,
            phases,
            thresholds: self.thresholds,
            faults,
            shard: Shard::WHOLE,
        })
    }
}

/// Why `compression` cannot be used here: the frame protocol sends messages
/// uncompressed, so a compression setting would be silently ignored.
fn compression_over_frame(raw: &ScenarioToml, doc: &DeTable<'_>, text: &str) -> Option<String> {
    let compression = raw.producer.as_ref()?.compression;
    if raw.target.protocol != Protocol::Frame || compression == producer::Compression::None {
        return None;
    }
    let protocol = settings::find(doc, text, "target", &["protocol"]);
    Some(format!(
        "compression = \"{compression}\" is not applied over the frame protocol, which sends \
         messages uncompressed, and {} is \"frame\"; remove compression, or set protocol = \"kafka\"",
        protocol.describe()
    ))
}

/// Checks each `[[faults]]` rule as the broker will; node ids only against
/// the embedded broker, whose size is known.
fn faults(raw: Vec<Spanned<FaultSpec>>, target: &Target) -> Result<Vec<FaultSpec>, Rejection> {
    let brokers = match target.broker {
        BrokerSpec::Embedded => Some(target.brokers),
        BrokerSpec::External(_) => None,
    };
    if let (BrokerSpec::External(address), None, Some(first)) =
        (&target.broker, &target.admin, raw.first())
    {
        return Err((
            Some(first.span()),
            "faults".into(),
            format!(
                "[[faults]] are set through a mock broker's admin API, and [target] names none for {address}; \
                 add [target] admin = \"host:port\", or run against the embedded broker"
            ),
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, spanned)| {
            let span = spanned.span();
            let spec = spanned.into_inner();
            spec.validate(brokers)
                .map_err(|e| (Some(span), format!("faults[{i}].{}", e.key), e.reason))?;
            Ok(spec)
        })
        .collect()
}

/// A key that must not appear, with where it is.
struct BadKey {
    path: String,
    span: std::ops::Range<usize>,
}

impl BadKey {
    fn span(&self) -> std::ops::Range<usize> {
        self.span.clone()
    }
}

/// The first reserved top-level key, or `[producer]` key filled from elsewhere, with the reason.
fn reserved_or_filled_key(doc: &DeTable<'_>) -> Option<(BadKey, String)> {
    for (key, _) in doc.iter() {
        if RESERVED_KEYS.contains(&key.get_ref().as_ref()) {
            return Some((
                BadKey {
                    path: key.get_ref().to_string(),
                    span: key.span(),
                },
                format!(
                    "`{}` is reserved for a later version of loadgen and not implemented yet",
                    key.get_ref()
                ),
            ));
        }
    }
    let producer = doc.get("producer")?.get_ref().as_table()?;
    for (key, _) in producer.iter() {
        if let Some((name, source)) = FILLED_PRODUCER_KEYS
            .iter()
            .find(|(name, _)| key.get_ref().as_ref() == *name)
        {
            return Some((
                BadKey {
                    path: format!("producer.{}", location::quote_key(name)),
                    span: key.span(),
                },
                format!("`{name}` must not be set in [producer]: it comes from {source}"),
            ));
        }
    }
    None
}
