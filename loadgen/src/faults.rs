//! A scenario's `[[faults]]`: put in force on the broker when the first phase
//! starts (so each rule's `at` counts from the start of the run), read back
//! and removed when the run ends, so that a shared broker is left as found.

use mock_broker::fault::FaultSpec;

use crate::run_result::FaultOutcome;
use crate::target::Broker;

/// Why a scenario's faults could not be put in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot put [[faults]] rule {index} ({kind}) in force: {reason}")]
pub struct FaultsError {
    /// The rule's index in the scenario's `[[faults]]`.
    pub index: usize,
    /// Its kind.
    pub kind: String,
    /// The broker's (or its admin API's) reason.
    pub reason: String,
}

/// The rules a run put in force, by their ids on the broker.
#[derive(Debug, Default)]
pub struct AppliedFaults {
    rules: Vec<(FaultSpec, u64)>,
}

/// Puts every rule in force, in order.
///
/// # Errors
/// [`FaultsError`] for the first rule the broker refuses; the rules added
/// before it are removed again.
pub async fn apply(broker: &Broker, specs: &[FaultSpec]) -> Result<AppliedFaults, FaultsError> {
    let mut applied = AppliedFaults::default();
    for (index, spec) in specs.iter().enumerate() {
        let added = match broker {
            Broker::Embedded(mock) => mock
                .faults()
                .add(spec.clone())
                .map(|info| info.id)
                .map_err(|e| e.to_string()),
            Broker::External(_, Some(admin)) => {
                let rule = serde_json::to_value(spec).expect("a fault rule serializes");
                match admin.add_fault(&rule).await {
                    Ok(answer) => answer["id"]
                        .as_u64()
                        .ok_or_else(|| format!("the admin API answered without an id: {answer}")),
                    Err(e) => Err(e.to_string()),
                }
            }
            Broker::External(address, None) => Err(format!(
                "{address} has no admin API in [target] admin to set faults through"
            )),
        };
        match added {
            Ok(id) => {
                tracing::info!(index, kind = %spec.kind, id, "fault rule in force");
                applied.rules.push((spec.clone(), id));
            }
            Err(reason) => {
                finish(broker, applied).await;
                return Err(FaultsError {
                    index,
                    kind: spec.kind.to_string(),
                    reason,
                });
            }
        }
    }
    Ok(applied)
}

/// Reads how often each rule fired, then removes it from the broker.
pub async fn finish(broker: &Broker, applied: AppliedFaults) -> Vec<FaultOutcome> {
    let mut outcomes = Vec::with_capacity(applied.rules.len());
    for (spec, id) in applied.rules {
        let (fired, state) = match broker {
            Broker::Embedded(mock) => {
                let info = mock.faults().get(id);
                mock.faults().remove(id);
                (
                    info.as_ref().map(|i| i.fired),
                    info.map(|i| i.state.as_str().to_string()),
                )
            }
            Broker::External(_, Some(admin)) => {
                let info = admin.fault(id).await;
                if let Err(e) = admin.remove_fault(id).await {
                    tracing::warn!(id, error = %e, "could not remove a fault rule from the broker");
                }
                match info {
                    Ok(info) => (
                        info["fired"].as_u64(),
                        info["state"].as_str().map(str::to_string),
                    ),
                    Err(e) => {
                        tracing::warn!(id, error = %e, "could not read a fault rule back");
                        (None, None)
                    }
                }
            }
            Broker::External(_, None) => (None, None),
        };
        outcomes.push(FaultOutcome { spec, fired, state });
    }
    outcomes
}
