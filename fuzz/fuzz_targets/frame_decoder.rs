//! Fuzz target: `protocol::fuzzing::frame_decoder` (see its documentation and docs/testing.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::frame_decoder(data));
