//! The coordinator's errors as each request version's clients must see them.
//!
//! The coordinator answers as Kafka's coordinator does (PRODUCER_FENCED,
//! TRANSACTION_ABORTABLE); Kafka's request handlers then translate for clients
//! too old to know those codes. The glue calls [`for_client`] on every error
//! it answers.

use kafka_protocol::ResponseError;

/// The requests that carry the coordinator's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnApi {
    /// InitProducerId (key 22).
    InitProducerId,
    /// AddPartitionsToTxn (key 24).
    AddPartitionsToTxn,
    /// AddOffsetsToTxn (key 25).
    AddOffsetsToTxn,
    /// EndTxn (key 26).
    EndTxn,
    /// TxnOffsetCommit (key 28), checked against the transaction like a produce.
    TxnOffsetCommit,
    /// Produce (key 0), a transactional batch.
    Produce,
}

/// `error` as a client sending `api` at `version` expects it.
///
/// PRODUCER_FENCED (KIP-588) is INVALID_PRODUCER_EPOCH for InitProducerId < v4
/// and AddPartitionsToTxn, AddOffsetsToTxn, EndTxn < v2, and always for Produce
/// and TxnOffsetCommit (Kafka's verification path: "producers expect to handle
/// INVALID_PRODUCER_EPOCH"). TRANSACTION_ABORTABLE (KIP-890) is
/// INVALID_TXN_STATE for Produce < v11 and TxnOffsetCommit < v4.
pub(crate) fn for_client(error: ResponseError, api: TxnApi, version: i16) -> ResponseError {
    match error {
        ResponseError::ProducerFenced => {
            let knows_fenced = match api {
                TxnApi::InitProducerId => version >= 4,
                TxnApi::AddPartitionsToTxn | TxnApi::AddOffsetsToTxn | TxnApi::EndTxn => {
                    version >= 2
                }
                TxnApi::TxnOffsetCommit | TxnApi::Produce => false,
            };
            if knows_fenced {
                error
            } else {
                ResponseError::InvalidProducerEpoch
            }
        }
        ResponseError::TransactionAbortable => {
            let knows_abortable = match api {
                TxnApi::Produce => version >= 11,
                TxnApi::TxnOffsetCommit => version >= 4,
                _ => true,
            };
            if knows_abortable {
                error
            } else {
                ResponseError::InvalidTxnState
            }
        }
        other => other,
    }
}
