//! PATCH (kafka-test-bench): an optional limit on how many array elements one decode may read,
//! charged with each array's length as it is read off the wire, before the array is allocated.
//!
//! A server decoding a request it has not yet looked at can bound what the decode costs: a
//! request of a few megabytes that lists a million partitions would otherwise be decoded into
//! structures many times its size before any check of the decoded value could refuse it.
//! Outside [`with_element_budget`] nothing is counted. Tested where it is used, in the
//! workspace (`mock-broker/src/kafka/decode_budget.rs`): a vendored crate's own tests do not run.

use std::cell::Cell;
use std::fmt;

thread_local! {
    /// (the budget, elements still allowed) of the decode running on this thread.
    static BUDGET: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// The error a decode fails with once it has read more array elements than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementBudgetExceeded {
    /// The budget: the array elements the decode was allowed in all.
    pub budget: usize,
}

impl fmt::Display for ElementBudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the message holds more than {} array elements in all",
            self.budget
        )
    }
}

impl std::error::Error for ElementBudgetExceeded {}

/// Runs `decode` (a synchronous decode) allowing it `budget` array elements in all, over every
/// array and nested array it reads; past it the decode fails with [`ElementBudgetExceeded`]
/// (inside the `anyhow::Error`, where `downcast_ref` finds it). Nested calls take the inner
/// budget until they return.
pub fn with_element_budget<R>(budget: usize, decode: impl FnOnce() -> R) -> R {
    struct Restore(Option<(usize, usize)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|cell| cell.replace(Some((budget, budget)))));
    decode()
}

/// Charges `elements` to the running decode's budget, if it has one.
pub(crate) fn charge(elements: usize) -> anyhow::Result<()> {
    BUDGET.with(|cell| match cell.get() {
        None => Ok(()),
        Some((budget, left)) if elements <= left => {
            cell.set(Some((budget, left - elements)));
            Ok(())
        }
        Some((budget, _)) => Err(anyhow::Error::new(ElementBudgetExceeded { budget })),
    })
}
