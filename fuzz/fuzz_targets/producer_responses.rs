//! Fuzz target: `producer::fuzzing::responses` (see its documentation and docs/testing.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| producer::fuzzing::responses(data));
