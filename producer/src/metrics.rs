//! Counters of what the producer did, for the load generator and for users.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Producer counters; read a consistent copy with [`Producer::metrics`](crate::Producer::metrics).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Records acknowledged.
    pub(crate) records_sent: AtomicU64,
    /// Bytes of acknowledged batches.
    pub(crate) bytes_sent: AtomicU64,
    /// Batches sent, retries included.
    pub(crate) batches_sent: AtomicU64,
    /// Requests sent.
    pub(crate) requests: AtomicU64,
    /// Batches retried after a failed send.
    pub(crate) retries: AtomicU64,
    /// Requests waiting for their answer now.
    pub(crate) in_flight: AtomicU64,
    /// Errors seen, by name.
    pub(crate) errors: Mutex<BTreeMap<String, u64>>,
    /// The message of the latest error a batch was retried or failed for.
    pub(crate) last_error: Mutex<Option<String>>,
}

impl Counters {
    /// Adds `n` to `counter`.
    #[inline]
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one more error named `name`.
    pub(crate) fn error(&self, name: &str) {
        *self
            .errors
            .lock()
            .expect("metrics lock")
            .entry(name.to_string())
            .or_default() += 1;
    }

    /// Keeps `message` as the latest error a batch was retried or failed for.
    pub(crate) fn last_error(&self, message: String) {
        *self.last_error.lock().expect("metrics lock") = Some(message);
    }
}

/// A snapshot of the producer's counters.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Records acknowledged by the broker (or written, with acks=0).
    pub records_sent: u64,
    /// Bytes of those records' batches as sent (compressed, if compressed).
    pub bytes_sent: u64,
    /// Batches sent, retries included.
    pub batches_sent: u64,
    /// Produce requests sent, retries included.
    pub requests: u64,
    /// Batches sent again after a retriable error.
    pub retries: u64,
    /// Produce requests waiting for their response now.
    pub in_flight_requests: u64,
    /// Bytes of `buffer_memory` held by records not yet settled.
    pub buffer_used: u64,
    /// Errors seen, by name (Kafka error names, frame status names, `CONNECTION` …).
    pub errors: BTreeMap<String, u64>,
    /// The latest error a batch was retried or failed for, as its message (naming the broker):
    /// what a run whose sends are all failing, or retrying, is stuck on.
    pub last_error: Option<String>,
}

impl Metrics {
    /// Average records per batch.
    pub fn records_per_batch(&self) -> f64 {
        if self.batches_sent == 0 {
            0.0
        } else {
            self.records_sent as f64 / self.batches_sent as f64
        }
    }

    /// Average records per request.
    pub fn records_per_request(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.records_sent as f64 / self.requests as f64
        }
    }

    /// Adds another producer's counters to these, for a total over several producers.
    pub fn add(&mut self, other: &Metrics) {
        self.records_sent += other.records_sent;
        self.bytes_sent += other.bytes_sent;
        self.batches_sent += other.batches_sent;
        self.requests += other.requests;
        self.retries += other.retries;
        self.in_flight_requests += other.in_flight_requests;
        self.buffer_used += other.buffer_used;
        for (name, count) in &other.errors {
            *self.errors.entry(name.clone()).or_default() += count;
        }
        if other.last_error.is_some() {
            self.last_error.clone_from(&other.last_error);
        }
    }

    /// Average batch size in bytes.
    pub fn average_batch_bytes(&self) -> f64 {
        if self.batches_sent == 0 {
            0.0
        } else {
            self.bytes_sent as f64 / self.batches_sent as f64
        }
    }
}

impl Counters {
    /// A copy of every counter, with `buffer_used` bytes of `buffer_memory` in use.
    pub(crate) fn snapshot(&self, buffer_used: u64) -> Metrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Metrics {
            records_sent: get(&self.records_sent),
            bytes_sent: get(&self.bytes_sent),
            batches_sent: get(&self.batches_sent),
            requests: get(&self.requests),
            retries: get(&self.retries),
            in_flight_requests: get(&self.in_flight),
            buffer_used,
            errors: self.errors.lock().expect("metrics lock").clone(),
            last_error: self.last_error.lock().expect("metrics lock").clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_sums_every_counter_and_error() {
        let one = Metrics {
            records_sent: 10,
            bytes_sent: 1000,
            batches_sent: 2,
            requests: 1,
            retries: 1,
            in_flight_requests: 1,
            buffer_used: 50,
            errors: BTreeMap::from([("CONNECTION".to_string(), 1)]),
            last_error: Some("connection to broker at b:1 closed".into()),
        };
        let mut total = one.clone();
        total.add(&one);
        assert_eq!(
            (
                total.records_sent,
                total.bytes_sent,
                total.batches_sent,
                total.requests
            ),
            (20, 2000, 4, 2)
        );
        assert_eq!(
            (total.retries, total.in_flight_requests, total.buffer_used),
            (2, 2, 100)
        );
        assert_eq!(total.errors["CONNECTION"], 2);
        assert_eq!(total.records_per_request(), 10.0);
        total.add(&Metrics::default());
        assert_eq!(
            total.last_error.as_deref(),
            Some("connection to broker at b:1 closed"),
            "a producer without errors keeps the last one seen"
        );
    }
}
