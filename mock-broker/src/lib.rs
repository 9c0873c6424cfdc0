//! mock broker
