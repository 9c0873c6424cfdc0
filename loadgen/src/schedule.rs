//! When each message is due, and how many messages each producer instance sends.
//!
//! A phase's rate is shared by its producer instances by interleaving: with
//! `rate` messages per second and `tasks` instances, the phase's `g`-th
//! message is due `g / rate` seconds after the phase starts and is sent by
//! instance `g mod tasks`. So instance `k`'s `i`-th message is the phase's
//! message `i * tasks + k`. A ramp interleaves the same way; only the due time
//! of message `g` differs ([`ramp`]). Pure arithmetic, no clocks.

pub mod ramp;

use std::time::Duration;

use crate::scenario::{PhaseLength, Rate};

pub use ramp::Ramp;

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
    pace: Pace,
    tasks: u32,
    task: u32,
}

/// When the phase's message `g` is due, all instances together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// At `g / rate` seconds.
    Constant(u64),
    /// On a linearly changing rate.
    Ramp(Ramp),
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
        Schedule {
            pace: Pace::Constant(rate),
            tasks,
            task,
        }
    }

    /// The schedule of instance `task` of `tasks` sharing the messages of `ramp`.
    ///
    /// # Panics
    /// If `tasks` is 0, or `task >= tasks`.
    pub fn ramp(ramp: Ramp, tasks: u32, task: u32) -> Self {
        assert!(task < tasks, "task {task} of {tasks}");
        Schedule {
            pace: Pace::Ramp(ramp),
            tasks,
            task,
        }
    }

    /// How long after the phase start the instance's message `i` is due.
    pub fn due(&self, i: u64) -> Duration {
        let global = u128::from(i) * u128::from(self.tasks) + u128::from(self.task);
        match self.pace {
            Pace::Constant(rate) => {
                let nanos = global * 1_000_000_000 / u128::from(rate);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
            Pace::Ramp(ramp) => ramp.due(u64::try_from(global).unwrap_or(u64::MAX)),
        }
    }
}

impl TaskPlan {
    /// The plan of instance `task` of `tasks` for a phase of `length` at `rate`
    /// (constant 0 = closed loop). A ramp over a phase of `messages` lasts as
    /// long as they take at its mean rate ([`Ramp::sending`]).
    ///
    /// # Panics
    /// If `tasks` is 0 or `task >= tasks`.
    pub fn new(length: PhaseLength, rate: Rate, tasks: u32, task: u32) -> Self {
        assert!(task < tasks, "task {task} of {tasks}");
        let (schedule, total) = match (rate, length) {
            (Rate::Constant(0), PhaseLength::Messages(total)) => (None, Some(total)),
            (Rate::Constant(0), PhaseLength::Duration(d)) => {
                return TaskPlan {
                    schedule: None,
                    quota: None,
                    deadline: Some(d),
                };
            }
            (Rate::Constant(rate), length) => {
                let total = match length {
                    PhaseLength::Messages(total) => total,
                    PhaseLength::Duration(d) => messages_due_within(d, rate),
                };
                (Some(Schedule::new(rate, tasks, task)), Some(total))
            }
            (Rate::Ramp { from, to }, PhaseLength::Duration(d)) => {
                let ramp = Ramp::new(from, to, d);
                (
                    Some(Schedule::ramp(ramp, tasks, task)),
                    Some(ramp.messages()),
                )
            }
            (Rate::Ramp { from, to }, PhaseLength::Messages(total)) => {
                let ramp = Ramp::sending(from, to, total);
                (Some(Schedule::ramp(ramp, tasks, task)), Some(total))
            }
        };
        TaskPlan {
            schedule,
            quota: total.map(|total| share(total, tasks, task)),
            deadline: None,
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
            .map(|k| {
                TaskPlan::new(
                    PhaseLength::Duration(Duration::from_secs(3)),
                    Rate::Constant(5000),
                    2,
                    k,
                )
            })
            .collect();
        assert_eq!(plans[0].quota, Some(7500));
        assert_eq!(plans[1].quota, Some(7500));
        let last = plans[1].schedule.unwrap().due(7499);
        assert!(last < Duration::from_secs(3), "{last:?}");
    }

    #[test]
    fn a_closed_loop_phase_has_no_schedule() {
        let timed = TaskPlan::new(
            PhaseLength::Duration(Duration::from_secs(2)),
            Rate::CLOSED_LOOP,
            3,
            1,
        );
        assert_eq!(timed.schedule, None);
        assert_eq!(timed.quota, None);
        assert_eq!(timed.deadline, Some(Duration::from_secs(2)));
        let counted = TaskPlan::new(PhaseLength::Messages(10), Rate::CLOSED_LOOP, 3, 0);
        assert_eq!((counted.quota, counted.deadline), (Some(4), None));
    }

    #[test]
    fn instances_interleave_on_one_shared_ramp() {
        let ramp = Ramp::new(10_000, 100_000, Duration::from_secs(5));
        let length = PhaseLength::Duration(Duration::from_secs(5));
        let rate = Rate::Ramp {
            from: 10_000,
            to: 100_000,
        };
        let plans: Vec<TaskPlan> = (0..3).map(|k| TaskPlan::new(length, rate, 3, k)).collect();
        let quotas: Vec<u64> = plans.iter().map(|p| p.quota.unwrap()).collect();
        assert_eq!(quotas, [91_667, 91_667, 91_666]);
        assert_eq!(quotas.iter().sum::<u64>(), ramp.messages());
        for (k, plan) in plans.iter().enumerate() {
            let schedule = plan.schedule.unwrap();
            assert_eq!(plan.deadline, None);
            for i in [0, 1, 2, 1000, quotas[k] - 1] {
                assert_eq!(
                    schedule.due(i),
                    ramp.due(i * 3 + k as u64),
                    "instance {k}, {i}"
                );
            }
        }
    }

    #[test]
    fn a_ramp_over_a_number_of_messages_sends_exactly_that_many() {
        let rate = Rate::Ramp { from: 0, to: 1000 };
        let plans: Vec<TaskPlan> = (0..2)
            .map(|k| TaskPlan::new(PhaseLength::Messages(1001), rate, 2, k))
            .collect();
        assert_eq!(plans[0].quota, Some(501));
        assert_eq!(plans[1].quota, Some(500));
        // 1001 messages at a mean of 500/s take 2.002 s: the last is due just before.
        let last = plans[0].schedule.unwrap().due(500);
        let ramp = Ramp::sending(0, 1000, 1001);
        assert_eq!(ramp.length(), Duration::from_millis(2002));
        assert!(
            last <= ramp.length() && last > Duration::from_secs(2),
            "{last:?}"
        );
    }
}
