//! `GET /topics/{topic}/records`: recorded messages, filtered by partition, offset and limit;
//! with `wait_ms`, answered as soon as at least `min` of them are there.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::record_json::RecordJson;
use crate::state::BrokerState;
use crate::store::{RecordStore, StoreError, StoredRecord};

/// How many records one request returns when it does not say.
const DEFAULT_LIMIT: usize = 1000;

/// The most records one request returns, whatever its `limit`: page with `offset` for more.
const MAX_LIMIT: usize = 100_000;

/// The longest `wait_ms` honoured: a larger one waits this long.
const MAX_WAIT_MS: u64 = 60_000;

/// Which records a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RecordsQuery {
    /// One partition, or every partition in turn.
    partition: Option<u32>,
    /// The first offset wanted (in each partition, when no partition is given).
    offset: i64,
    /// The most records returned in all, at most [`MAX_LIMIT`].
    limit: usize,
    /// Whether control records (transaction markers) are listed too.
    include_control: bool,
    /// How many records to wait for (with `wait_ms`).
    min: u64,
    /// How long to wait for `min` records, at most [`MAX_WAIT_MS`]; 0 answers at once.
    wait_ms: u64,
}

impl RecordsQuery {
    /// Reads `partition`, `offset` and `limit` from the query string's pairs.
    ///
    /// # Errors
    /// A sentence naming the parameter and the value: not a number, negative,
    /// unknown, or given twice.
    fn parse(params: &[(String, String)]) -> Result<RecordsQuery, String> {
        let mut query = RecordsQuery {
            partition: None,
            offset: 0,
            limit: DEFAULT_LIMIT,
            include_control: false,
            min: 1,
            wait_ms: 0,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                return Err(format!("query parameter {name} is given more than once"));
            }
            let invalid = |expected: &str| format!("invalid {name} {value:?}: expected {expected}");
            match name.as_str() {
                "partition" => {
                    let partition = value
                        .parse()
                        .map_err(|_| invalid("a partition number, 0 or more"))?;
                    query.partition = Some(partition);
                }
                "offset" => {
                    query.offset = value
                        .parse::<i64>()
                        .ok()
                        .filter(|offset| *offset >= 0)
                        .ok_or_else(|| invalid("an offset, 0 or more"))?;
                }
                "limit" => {
                    let limit: u64 = value
                        .parse()
                        .map_err(|_| invalid("a number of records, 0 or more"))?;
                    query.limit = usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
                }
                "include_control" => {
                    query.include_control = value.parse().map_err(|_| invalid("true or false"))?;
                }
                "min" => {
                    query.min = value
                        .parse()
                        .map_err(|_| invalid("a number of records, 0 or more"))?;
                }
                "wait_ms" => {
                    let wait_ms: u64 = value.parse().map_err(|_| {
                        invalid("milliseconds to wait, 0 or more (at most 60000 are waited)")
                    })?;
                    query.wait_ms = wait_ms.min(MAX_WAIT_MS);
                }
                _ => {
                    return Err(format!(
                        "unknown query parameter {name:?}; expected partition, offset, limit, include_control, min or wait_ms"
                    ));
                }
            }
            seen.push(name);
        }
        if seen.contains(&"min") && !seen.contains(&"wait_ms") {
            return Err(
                "query parameter min applies only with wait_ms: say how long to wait for it"
                    .to_string(),
            );
        }
        Ok(query)
    }
}

/// `GET /topics/{topic}/records`: the records, as JSON, in partition then offset order.
pub(super) async fn list(
    State(state): State<Arc<BrokerState>>,
    topic: Result<Path<String>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(topic) = topic?;
    let Query(params) = params?;
    let query = RecordsQuery::parse(&params).map_err(ApiError::bad_request)?;
    if query.wait_ms > 0 {
        state
            .store
            .wait_for_count(
                &topic,
                query.partition,
                query.offset,
                query.min,
                Duration::from_millis(query.wait_ms),
            )
            .await;
    }
    let records = read(&state.store, &topic, query)?;
    let body: Vec<RecordJson<'_>> = records.iter().map(|r| RecordJson::new(&topic, r)).collect();
    Ok(Json(body).into_response())
}

fn read(
    store: &RecordStore,
    topic: &str,
    query: RecordsQuery,
) -> Result<Vec<StoredRecord>, StoreError> {
    if let Some(partition) = query.partition {
        return store.read_records(
            topic,
            partition,
            query.offset,
            query.limit,
            query.include_control,
        );
    }
    let partitions = store
        .topic(topic)
        .ok_or_else(|| StoreError::UnknownTopic {
            topic: topic.to_string(),
        })?
        .partition_count();
    let mut records = Vec::new();
    for partition in 0..partitions {
        let wanted = query.limit - records.len();
        if wanted == 0 {
            break;
        }
        records.extend(store.read_records(
            topic,
            partition,
            query.offset,
            wanted,
            query.include_control,
        )?);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<RecordsQuery, String> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RecordsQuery::parse(&pairs)
    }

    #[test]
    fn defaults_to_every_partition_from_offset_zero_a_thousand_records() {
        assert_eq!(
            parse(&[]),
            Ok(RecordsQuery {
                partition: None,
                offset: 0,
                limit: 1000,
                include_control: false,
                min: 1,
                wait_ms: 0,
            })
        );
    }

    #[test]
    fn reads_each_parameter_and_caps_the_limit() {
        assert_eq!(
            parse(&[("partition", "2"), ("offset", "5"), ("limit", "10")]),
            Ok(RecordsQuery {
                partition: Some(2),
                offset: 5,
                limit: 10,
                include_control: false,
                min: 1,
                wait_ms: 0,
            })
        );
        assert!(
            parse(&[("include_control", "true")])
                .unwrap()
                .include_control
        );
        let waiting = parse(&[("min", "3"), ("wait_ms", "250")]).unwrap();
        assert_eq!((waiting.min, waiting.wait_ms), (3, 250));
        assert_eq!(
            parse(&[("wait_ms", "600000")]).unwrap().wait_ms,
            MAX_WAIT_MS
        );
        assert_eq!(parse(&[("limit", "100001")]).unwrap().limit, MAX_LIMIT);
        assert_eq!(
            parse(&[("limit", "99999999999999999999")]).unwrap_err(),
            "invalid limit \"99999999999999999999\": expected a number of records, 0 or more"
        );
    }

    #[test]
    fn bad_values_are_named_with_the_parameter() {
        assert_eq!(
            parse(&[("partition", "abc")]).unwrap_err(),
            "invalid partition \"abc\": expected a partition number, 0 or more"
        );
        assert_eq!(
            parse(&[("offset", "-1")]).unwrap_err(),
            "invalid offset \"-1\": expected an offset, 0 or more"
        );
        assert_eq!(
            parse(&[("limit", "-5")]).unwrap_err(),
            "invalid limit \"-5\": expected a number of records, 0 or more"
        );
        assert_eq!(
            parse(&[("partiton", "1")]).unwrap_err(),
            "unknown query parameter \"partiton\"; expected partition, offset, limit, include_control, min or wait_ms"
        );
        assert_eq!(
            parse(&[("wait_ms", "soon")]).unwrap_err(),
            "invalid wait_ms \"soon\": expected milliseconds to wait, 0 or more (at most 60000 are waited)"
        );
        assert_eq!(
            parse(&[("min", "-2"), ("wait_ms", "5")]).unwrap_err(),
            "invalid min \"-2\": expected a number of records, 0 or more"
        );
        assert_eq!(
            parse(&[("min", "2")]).unwrap_err(),
            "query parameter min applies only with wait_ms: say how long to wait for it"
        );
        assert_eq!(
            parse(&[("offset", "1"), ("offset", "2")]).unwrap_err(),
            "query parameter offset is given more than once"
        );
    }
}
