//! Mock broker integration tests: raw frames over real TCP, and the real binaries.

mod admin_api;
mod admin_clients;
mod binaries;
mod consumer_groups;
mod consumer_protocol;
mod durability;
mod fault_every_api;
mod faults;
mod faults_rdkafka;
mod fetch_batches;
mod fetch_every_offset;
mod frame_errors;
mod fuzz_corpus;
mod group_admin_clients;
mod group_clients;
mod group_faults;
mod group_requests;
mod kafka_protocol;
mod raw_client;
mod rdkafka_client;
mod real_clients;
mod retention;
mod served_batches;
mod transactions;
mod waiting;
