//! Waiting for records without sleeping: a test (or the admin API's `wait_ms`) asks for at
//! least N records and is answered as soon as the appends that bring them land, woken by the
//! store's append signal, the one Fetch long polling waits on.

use std::time::Duration;

use super::record_store::RecordStore;
use super::stored_record::StoredRecord;

impl RecordStore {
    /// How many records of `topic` the store holds at or after `offset`: in `partition`, or
    /// in every partition (from `offset` in each) when `None`. 0 for an unknown topic or
    /// partition.
    pub fn count_records(&self, topic: &str, partition: Option<u32>, offset: i64) -> u64 {
        let Some(log) = self.topic(topic) else {
            return 0;
        };
        let partitions = match partition {
            Some(p) => p..p.saturating_add(1),
            None => 0..log.partition_count(),
        };
        partitions
            .filter_map(|p| {
                let high = log.high_watermark(p).ok()?;
                let start = log.log_start_offset(p).ok()?.max(offset);
                Some(u64::try_from(high - start).unwrap_or(0))
            })
            .sum()
    }

    /// Waits until the store holds at least `min` records of `topic` at or after `offset`
    /// (in `partition`, or in every partition), or until `timeout` passes; how many it holds
    /// then. Appends wake it, so it returns as soon as the last record wanted lands; the
    /// topic need not exist yet.
    pub async fn wait_for_count(
        &self,
        topic: &str,
        partition: Option<u32>,
        offset: i64,
        min: u64,
        timeout: Duration,
    ) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Made before counting, so that an append between the count and the wait wakes it.
            let waiter = self.appended().waiter();
            let held = self.count_records(topic, partition, offset);
            if held >= min {
                return held;
            }
            tokio::select! {
                () = waiter.appended() => {}
                () = tokio::time::sleep_until(deadline) => {
                    return self.count_records(topic, partition, offset);
                }
            }
        }
    }

    /// Waits until `topic` holds at least `min` records, or until `timeout` passes, then
    /// returns every record it holds (partition by partition, each in offset order; none
    /// for a topic that never appeared). Woken by appends, not by polling: a test waits for
    /// what it expects without sleeping.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use mock_broker::RecordStore;
    /// let store = RecordStore::new(1, true);
    /// let none = store.wait_for_records("orders", 1, Duration::from_millis(10)).await;
    /// assert!(none.is_empty());
    /// # }
    /// ```
    pub async fn wait_for_records(
        &self,
        topic: &str,
        min: usize,
        timeout: Duration,
    ) -> Vec<StoredRecord> {
        let min = u64::try_from(min).unwrap_or(u64::MAX);
        self.wait_for_count(topic, None, 0, min, timeout).await;
        self.read_all(topic).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use bytes::Bytes;

    use super::*;
    use crate::store::{ClientInfo, NewRecord, Protocol};

    fn append(store: &RecordStore, topic: &str, partition: u32, count: usize) {
        let client = Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Frame,
            client_id: None,
        });
        let records: Vec<NewRecord> = (0..count)
            .map(|_| NewRecord {
                timestamp: None,
                key: None,
                value: Some(Bytes::from_static(b"v")),
                headers: Vec::new(),
                producer: None,
            })
            .collect();
        store
            .topic_for_write(topic)
            .unwrap()
            .append(partition, records, 0, &client)
            .unwrap();
    }

    #[tokio::test]
    async fn counts_from_an_offset_in_one_partition_or_all() {
        let store = RecordStore::new(2, true);
        assert_eq!(store.count_records("t", None, 0), 0);
        append(&store, "t", 0, 3);
        append(&store, "t", 1, 2);
        assert_eq!(store.count_records("t", None, 0), 5);
        assert_eq!(store.count_records("t", Some(0), 1), 2);
        assert_eq!(store.count_records("t", None, 2), 1);
        assert_eq!(store.count_records("t", Some(7), 0), 0);
    }

    #[tokio::test]
    async fn an_append_from_another_task_wakes_the_wait_at_once() {
        let store = RecordStore::new(1, true);
        let writer = store.clone();
        let started = Instant::now();
        let waiting = tokio::spawn(async move {
            store
                .wait_for_records("later", 3, Duration::from_secs(60))
                .await
        });
        tokio::task::yield_now().await;
        append(&writer, "later", 0, 1);
        append(&writer, "later", 0, 2);
        let records = waiting.await.unwrap();
        assert_eq!(records.len(), 3);
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[tokio::test]
    async fn at_the_deadline_it_returns_what_there_is() {
        let store = RecordStore::new(1, true);
        append(&store, "short", 0, 2);
        let records = store
            .wait_for_records("short", 5, Duration::from_millis(50))
            .await;
        assert_eq!(records.len(), 2);
    }
}
