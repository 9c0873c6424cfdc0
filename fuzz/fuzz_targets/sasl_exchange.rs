//! Fuzz target: `mock_broker::fuzzing::sasl_exchange` (see its documentation and docs/testing.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_broker::fuzzing::sasl_exchange(data));
