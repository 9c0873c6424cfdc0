//! How a phase's lanes are laid out for issuing: each lane's collector a task
//! on the runtime, fed by the lane's [`Handoff`], and the lanes' issuing dealt
//! round-robin over at most one issuer thread per core. A thread per lane
//! would be simpler, but with more lanes than cores its issuer threads would
//! compete for the cores with the runtime's workers, which run the collectors
//! and (embedded) the broker.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::collector::collect;
use super::handoff::Handoff;
use super::lane::{Lane, Streams};
use crate::audit::SequenceSet;
use crate::recorder::Recorder;
use crate::schedule::TaskPlan;

/// Each lane's collector task, in lane order: what it measured and the
/// sequences acknowledged.
pub(super) type Collectors = Vec<JoinHandle<(Recorder, SequenceSet)>>;

/// Starts every lane's collector and makes the lane's issuing with
/// `issuing(position, lane, plan, handoff)`, the handoff feeding that
/// collector; returns the issuings grouped by issuer thread and the
/// collectors in lane order.
pub(super) fn lay_out<T>(
    lanes: Vec<Lane>,
    plans: Vec<TaskPlan>,
    start: Instant,
    streams: &Streams,
    mut issuing: impl FnMut(usize, Lane, TaskPlan, Handoff) -> T,
) -> (Vec<Vec<T>>, Collectors) {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, lanes.len().max(1));
    let mut groups: Vec<Vec<T>> = (0..threads).map(|_| Vec::new()).collect();
    let mut collectors = Vec::with_capacity(lanes.len());
    for (position, (lane, plan)) in lanes.into_iter().zip(plans).enumerate() {
        let (in_flight, received) = mpsc::unbounded_channel();
        let counters = Arc::clone(&lane.counters);
        let collector_streams = streams.clone();
        collectors.push(tokio::spawn(async move {
            collect(received, start, &collector_streams, &counters).await
        }));
        groups[position % threads].push(issuing(position, lane, plan, Handoff::new(in_flight)));
    }
    (groups, collectors)
}
