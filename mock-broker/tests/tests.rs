//! Mock broker integration tests: raw frames over real TCP, and the real binaries.

mod admin_api;
mod binaries;
mod kafka_protocol;
mod frame_errors;
mod raw_client;
