//! Where the settings an error involves are written in a scenario file, for
//! errors that two settings cause together (`idempotent` with `acks`,
//! `compression` with the frame protocol): each is named with its line, or
//! said to be left at its default.

use toml::de::DeTable;

use super::location;

/// `[producer]` settings that a check of two settings can name: the name
/// the producer's messages use, and every spelling a file may use for it.
const PRODUCER_KEYS: [(&str, &[&str]); 8] = [
    ("idempotent", &["idempotent", "enable.idempotence"]),
    ("acks", &["acks"]),
    (
        "max_in_flight",
        &["max_in_flight", "max.in.flight.requests.per.connection"],
    ),
    (
        "delivery_timeout_ms",
        &["delivery_timeout_ms", "delivery.timeout.ms"],
    ),
    ("linger_ms", &["linger_ms", "linger.ms"]),
    (
        "request_timeout_ms",
        &["request_timeout_ms", "request.timeout.ms"],
    ),
    ("compression", &["compression", "compression.type"]),
    ("protocol", &[]),
];

/// One setting as written: its dotted path and line, or not written at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Setting {
    /// Such as `producer.acks` or `target.protocol`.
    pub(super) path: String,
    /// Its line, when the file sets it.
    pub(super) line: Option<usize>,
}

impl Setting {
    /// `producer.acks (line 9)`, or `producer.acks (not set: its default)`.
    pub(super) fn describe(&self) -> String {
        match self.line {
            Some(line) => format!("{} (line {line})", self.path),
            None => format!("{} (not set: its default)", self.path),
        }
    }
}

/// `table.key` as the file writes it, under any of `spellings`.
pub(super) fn find(doc: &DeTable<'_>, text: &str, table: &str, spellings: &[&str]) -> Setting {
    let found = doc
        .get(table)
        .and_then(|t| t.get_ref().as_table())
        .and_then(|t| {
            t.iter()
                .find(|(key, _)| spellings.contains(&key.get_ref().as_ref()))
                .map(|(key, _)| (key.get_ref().to_string(), key.span()))
        });
    match found {
        Some((key, span)) => Setting {
            path: format!("{table}.{}", location::quote_key(&key)),
            line: Some(location::line_of(text, span.start)),
        },
        None => Setting {
            path: format!("{table}.{}", spellings.first().copied().unwrap_or_default()),
            line: None,
        },
    }
}

/// The settings a producer's configuration error names, in the order of
/// [`PRODUCER_KEYS`]; `protocol` is `[target]`'s.
pub(super) fn named_in(doc: &DeTable<'_>, text: &str, reason: &str) -> Vec<Setting> {
    let words: Vec<&str> = reason
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    PRODUCER_KEYS
        .iter()
        .filter(|(name, _)| words.contains(name))
        .map(|(name, spellings)| {
            if *name == "protocol" {
                find(doc, text, "target", &["protocol"])
            } else {
                find(doc, text, "producer", spellings)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_found_under_any_spelling_or_said_to_be_defaults() {
        let text = "name = \"x\"\n[target]\nprotocol = \"frame\"\n[producer]\n\"enable.idempotence\" = true\n";
        let doc = DeTable::parse(text).unwrap();
        let named = named_in(
            doc.get_ref(),
            text,
            "idempotent = true needs acks = \"all\" (got acks = 1)",
        );
        let shown: Vec<String> = named.iter().map(Setting::describe).collect();
        assert_eq!(
            shown,
            [
                "producer.\"enable.idempotence\" (line 5)",
                "producer.acks (not set: its default)"
            ]
        );
        let protocol = named_in(doc.get_ref(), text, "needs protocol = \"kafka\"");
        assert_eq!(protocol[0].describe(), "target.protocol (line 3)");
    }
}
