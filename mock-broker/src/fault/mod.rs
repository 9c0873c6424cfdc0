//! Fault injection: rules that make the broker misbehave on purpose.
//!
//! One schema ([`FaultSpec`], documented in `docs/faults.md`) reaches the
//! broker four ways: `[[faults]]` in its TOML config, the admin API
//! (`/faults`), this in-process API ([`Faults`], from
//! [`MockBroker::faults`](crate::MockBroker::faults)) and loadgen scenarios.
//!
//! Per-request kinds (`latency`, `error`, `disconnect`, `throttle`) are
//! consulted by the protocols' sessions as requests arrive, through
//! `FaultReply` (`reply.rs`), the one place a verdict is applied;
//! time-based kinds (`stall`, `down`, `leader_move`) are started and ended by
//! a clock task that publishes each broker's `Condition` (`verdict.rs`).

mod error_code;
mod registry;
mod reply;
mod rule;
mod spec;
mod verdict;

pub use registry::{FaultInfo, FaultState, Faults};
pub(crate) use reply::{FaultDisconnect, FaultReply, Names, RequestName};
pub use rule::FaultError;
pub(crate) use rule::FaultRule;
pub use spec::{
    ApiScope, ErrorValue, FaultDuration, FaultKindName, FaultSpec, ProtocolScope, When,
};
pub(crate) use verdict::Condition;
