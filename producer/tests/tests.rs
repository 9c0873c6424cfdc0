//! Producer integration tests over real TCP: against the mock broker on port 0,
//! and against raw listeners that misbehave.

mod against_broken_brokers;
mod against_librdkafka_mock;
mod against_mock_broker;
mod against_raw_listeners;
mod closing;
