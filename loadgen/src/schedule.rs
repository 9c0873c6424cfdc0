//! When each message is due, and how many messages each producer instance sends.
//!
//! A phase's rate is shared by its producer instances by interleaving: with
//! `rate` messages per second and `tasks` instances, the phase's `g`-th
//! message is due `g / rate` seconds after the phase starts and is sent by
//! instance `g mod tasks`. So instance `k`'s `i`-th message is the phase's
//! message `i * tasks + k`. Pure arithmetic, no clocks.

use std::time::Duration;

use crate::scenario::PhaseLength;

/// What one producer instance does in one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskPlan {
    /// `Some` in open loop: when each message is due.
    pub schedule: Option<Schedule>,
    /// How many messages to send, when known in advance.
    pub quota: Option<u64>,
    /// In closed loop with a duration: stop starting sends this long after the phase start.
    pub deadline: Option<Duration>,
}

/// The due times of one producer instance's messages in an open-loop phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    rate: u64,
    tasks: u32,
    task: u32,
}

impl Schedule {
    /// The schedule of instance `task` of `tasks` sharing `rate` messages per second.
    ///
    /// # Panics
    /// If `rate` or `tasks` is 0, or `task >= tasks`.
    pub fn new(rate: u64, tasks: u32, task: u32) -> Self {
        assert!(
            rate > 0 && task < tasks,
            "rate {rate}, task {task} of {tasks}"
        );
        Schedule { rate, tasks, task }
    }

    /// How long after the phase start the instance's message `i` is due.
    pub fn due(&self, i: u64) -> Duration {
        let global = u128::from(i) * u128::from(self.tasks) + u128::from(self.task);
        let nanos = global * 1_000_000_000 / u128::from(self.rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl TaskPlan {
    /// The plan of instance `task` of `tasks` for a phase of `length` at `rate` (0 = closed loop).
    ///
    /// # Panics
    /// If `tasks` is 0 or `task >= tasks`.
    pub fn new(length: PhaseLength, rate: u64, tasks: u32, task: u32) -> Self {
        assert!(task < tasks, "task {task} of {tasks}");
        let schedule = (rate > 0).then(|| Schedule::new(rate, tasks, task));
        let (quota, deadline) = match (length, schedule) {
            (PhaseLength::Messages(total), _) => (Some(share(total, tasks, task)), None),
            (PhaseLength::Duration(d), Some(_)) => {
                (Some(share(messages_due_within(d, rate), tasks, task)), None)
            }
            (PhaseLength::Duration(d), None) => (None, Some(d)),
        };
        TaskPlan {
            schedule,
            quota,
            deadline,
        }
    }
}

/// How many of a phase's `total` messages instance `task` of `tasks` sends:
/// those numbered `task`, `task + tasks`, `task + 2 * tasks`, …
pub fn share(total: u64, tasks: u32, task: u32) -> u64 {
    let (tasks, task) = (u64::from(tasks), u64::from(task));
    if task >= total {
        0
    } else {
        (total - task).div_ceil(tasks)
    }
}

/// How many messages of a phase at `rate` per second are due strictly before `length` has passed.
pub fn messages_due_within(length: Duration, rate: u64) -> u64 {
    // Message g is due at floor(g * 1e9 / rate) ns, which is < length_ns exactly
    // when g * 1e9 < length_ns * rate.
    let scaled = length.as_nanos() * u128::from(rate);
    u64::try_from(scaled.div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_interleave_on_one_shared_schedule() {
        let first = Schedule::new(1000, 2, 0);
        let second = Schedule::new(1000, 2, 1);
        assert_eq!(first.due(0), Duration::ZERO);
        assert_eq!(second.due(0), Duration::from_millis(1));
        assert_eq!(first.due(1), Duration::from_millis(2));
        assert_eq!(second.due(1), Duration::from_millis(3));
        assert_eq!(first.due(500), Duration::from_secs(1));
    }

    #[test]
    fn due_times_are_exact_for_rates_that_do_not_divide_a_second() {
        let one = Schedule::new(3, 1, 0);
        assert_eq!(one.due(1), Duration::from_nanos(333_333_333));
        assert_eq!(one.due(2), Duration::from_nanos(666_666_666));
        assert_eq!(
            one.due(3),
            Duration::from_secs(1),
            "no drift after a second"
        );
        let slow = Schedule::new(7, 3, 2);
        assert_eq!(
            slow.due(7 * 1000),
            Duration::from_nanos((7000 * 3 + 2) * 1_000_000_000 / 7)
        );
    }

    #[test]
    fn shares_add_up_to_the_total_and_differ_by_at_most_one() {
        for total in [0, 1, 2, 5, 10, 10_001] {
            for tasks in [1, 2, 3, 7] {
                let shares: Vec<u64> = (0..tasks).map(|k| share(total, tasks, k)).collect();
                assert_eq!(shares.iter().sum::<u64>(), total, "{total} over {tasks}");
                let (min, max) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                assert!(max - min <= 1, "{shares:?}");
            }
        }
    }

    #[test]
    fn a_timed_open_loop_phase_sends_rate_times_duration_messages() {
        assert_eq!(messages_due_within(Duration::from_secs(3), 5000), 15_000);
        assert_eq!(messages_due_within(Duration::from_millis(1500), 3), 5);
        // Due at 0, 1/3 s, 2/3 s: exactly three before one second.
        assert_eq!(messages_due_within(Duration::from_secs(1), 3), 3);
        let plans: Vec<TaskPlan> = (0..2)
            .map(|k| TaskPlan::new(PhaseLength::Duration(Duration::from_secs(3)), 5000, 2, k))
            .collect();
        assert_eq!(plans[0].quota, Some(7500));
        assert_eq!(plans[1].quota, Some(7500));
        let last = plans[1].schedule.unwrap().due(7499);
        assert!(last < Duration::from_secs(3), "{last:?}");
    }

    #[test]
    fn a_closed_loop_phase_has_no_schedule() {
        let timed = TaskPlan::new(PhaseLength::Duration(Duration::from_secs(2)), 0, 3, 1);
        assert_eq!(timed.schedule, None);
        assert_eq!(timed.quota, None);
        assert_eq!(timed.deadline, Some(Duration::from_secs(2)));
        let counted = TaskPlan::new(PhaseLength::Messages(10), 0, 3, 0);
        assert_eq!((counted.quota, counted.deadline), (Some(4), None));
    }
}
