//! What the scenario tests share: a minimal scenario and parsing it from text.

use std::path::Path;

use super::{Scenario, ScenarioError};

/// The smallest valid scenario: a name and one phase.
pub(super) const MINIMAL: &str = "name = \"t\"\n[[phases]]\nname = \"p\"\nmessages = 10\n";

/// `text` read as a scenario file named `dir/bad.toml`.
pub(super) fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_toml_str(text, Path::new("dir/bad.toml"))
}

/// The error for `text`, which must name the file.
pub(super) fn error(text: &str) -> String {
    let err = parse(text)
        .expect_err("the scenario is invalid")
        .to_string();
    assert!(err.starts_with("invalid scenario dir/bad.toml"), "{err}");
    err
}
