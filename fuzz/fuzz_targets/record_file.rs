//! Fuzz target: `mock_broker::fuzzing::record_file` (see its documentation and docs/testing.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_broker::fuzzing::record_file(data));
