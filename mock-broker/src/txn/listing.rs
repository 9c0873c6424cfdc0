//! ListTransactions: its filters and its answer.

use super::txn_state::TxnState;

/// What ListTransactions asked for; empty lists filter nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListFilter {
    /// State names, as the request spells them ("Ongoing", …).
    pub(crate) states: Vec<String>,
    /// Producer ids.
    pub(crate) producer_ids: Vec<i64>,
    /// KIP-994: only transactions running longer than this many ms; -1 for all.
    pub(crate) duration_filter_ms: i64,
}

impl Default for ListFilter {
    /// No filter: every transactional id.
    fn default() -> ListFilter {
        ListFilter {
            states: Vec::new(),
            producer_ids: Vec::new(),
            duration_filter_ms: -1,
        }
    }
}

/// One row of ListTransactions' answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedTxn {
    /// The transactional id.
    pub(crate) transactional_id: String,
    /// Its current producer id.
    pub(crate) producer_id: i64,
    /// Its state.
    pub(crate) state: TxnState,
}

/// ListTransactions' answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Listing {
    /// The matching transactional ids, ordered by id.
    pub(crate) transactions: Vec<ListedTxn>,
    /// Filter state names Kafka does not know (answered back, as Kafka does).
    pub(crate) unknown_state_filters: Vec<String>,
}
