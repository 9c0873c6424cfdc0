//! Fault injection: rules that make the broker misbehave on purpose.
//!
//! One schema ([`FaultSpec`], documented in `docs/faults.md`) reaches the
//! broker four ways: `[[faults]]` in its TOML config, the admin API
//! (`/faults`), this in-process API ([`Faults`], from
//! [`MockBroker::faults`](crate::MockBroker::faults)) and loadgen scenarios.
//!
//! Per-request kinds (`latency`, `error`, `disconnect`, `throttle`) are
//! consulted by connections as requests arrive; time-based kinds (`stall`,
//! `down`, `leader_move`) are started and ended by a clock task that
//! publishes each broker's [`Condition`](registry::Condition).

mod error_code;
mod registry;
mod rule;
mod spec;

pub(crate) use registry::{Condition, RequestFacts, Verdict};
pub use registry::{FaultInfo, FaultState, Faults};
pub use rule::FaultError;
pub(crate) use rule::FaultRule;
pub use spec::{
    ApiScope, ErrorValue, FaultDuration, FaultKindName, FaultSpec, ProtocolScope, When,
};
