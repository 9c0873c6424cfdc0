//! `loadgen merge`: the runs of a scenario's N shards (`run --shard K/N`),
//! read back from their reports ([`shard_report`](crate::shard_report)),
//! added up into one run, as if one process had run the whole scenario.
//!
//! Counts and histograms add exactly, so the merged percentiles are those of
//! the union of every shard's values. A phase lasted as long as its longest
//! shard. The seconds of the runs are lined up by their wall-clock start, to
//! the second. The audit adds each shard's audit of its own messages (each
//! shard counts the others' messages as not its own); with a shard unaudited,
//! the merged run is unaudited too.

use std::time::SystemTime;

use crate::audit::{Audit, Counts};
use crate::interval::second_histogram;
use crate::interval_series::{Interval, SecondLatency};
use crate::run_result::RunResult;
use crate::scenario::Scenario;
use crate::shard::Shard;
use crate::shard_report::ShardRun;

/// Why runs cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge {file}: {reason}")]
pub struct MergeError {
    /// The report at fault (or the first one, for a missing shard).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Merges `runs`, each named by its file, which must be every shard of one
/// run of one scenario: the same scenario, the same phases, shards 1 to N once each.
///
/// # Errors
/// [`MergeError`] naming the file and what does not fit.
pub fn merge(runs: Vec<(String, ShardRun)>) -> Result<(Scenario, RunResult), MergeError> {
    let Some((first_file, first)) = runs.first() else {
        return Err(MergeError {
            file: "(none)".into(),
            reason: "no reports to merge".into(),
        });
    };
    let count = first.scenario.shard.count();
    let mut seen: Vec<Option<&str>> = vec![None; count as usize];
    for (file, run) in &runs {
        let error = |reason: String| MergeError {
            file: file.clone(),
            reason,
        };
        let shard = run.scenario.shard;
        if shard.count() != count {
            return Err(error(format!(
                "it is shard {shard}, and {first_file} is shard {} of {count}",
                first.scenario.shard
            )));
        }
        if let Some(other) = seen[shard.index() as usize - 1] {
            return Err(error(format!("shard {shard} is also {other}")));
        }
        seen[shard.index() as usize - 1] = Some(file);
        if run.scenario.name != first.scenario.name
            || run.scenario.workload != first.scenario.workload
        {
            return Err(error(format!(
                "it ran scenario {:?} with another workload than {first_file} (scenario {:?})",
                run.scenario.name, first.scenario.name
            )));
        }
        let phases = |r: &RunResult| -> Vec<(String, bool)> {
            r.phases
                .iter()
                .map(|p| (p.name.clone(), p.record))
                .collect()
        };
        if phases(&run.result) != phases(&first.result) {
            return Err(error(format!(
                "its phases {:?} are not those of {first_file}, {:?}",
                phases(&run.result),
                phases(&first.result)
            )));
        }
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(MergeError {
            file: first_file.clone(),
            reason: format!(
                "shard {}/{count} is missing: merge takes the reports of all {count} shards",
                missing + 1
            ),
        });
    }

    let started = runs
        .iter()
        .map(|(_, r)| r.result.started)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut scenario = first.scenario.clone();
    scenario.shard = Shard::WHOLE;
    let mut result = first.result.clone();
    result.started = started;
    result.intervals = Vec::new();
    result.faults = Vec::new();
    result.producer = producer::Metrics::default();
    for phase in &mut result.phases {
        phase.recorder = crate::recorder::Recorder::new();
        phase.elapsed = std::time::Duration::ZERO;
        phase.interrupted = false;
    }
    let mut audits = Vec::new();
    for (file, run) in &runs {
        let r = &run.result;
        for (mine, theirs) in result.phases.iter_mut().zip(&r.phases) {
            mine.recorder.merge(&theirs.recorder);
            mine.elapsed = mine.elapsed.max(theirs.elapsed);
            mine.interrupted |= theirs.interrupted;
        }
        result.interrupted |= r.interrupted;
        result.faults.extend(r.faults.iter().cloned());
        result.producer.add(&r.producer);
        let offset = r.started.duration_since(started).map_or(0, |d| d.as_secs());
        add_intervals(&mut result.intervals, &r.intervals, offset).map_err(|reason| {
            MergeError {
                file: file.clone(),
                reason,
            }
        })?;
        audits.push((run.scenario.shard, &r.audit));
    }
    result.audit = merge_audits(&audits);
    Ok((scenario, result))
}

/// Adds `theirs`, whose second 0 is `offset` seconds into the merged run, into `merged`.
fn add_intervals(
    merged: &mut Vec<Interval>,
    theirs: &[Interval],
    offset: u64,
) -> Result<(), String> {
    for interval in theirs {
        let second = interval.second + offset;
        while merged.len() as u64 <= second {
            let empty = SecondLatency::from_histogram(&second_histogram());
            merged.push(Interval {
                second: merged.len() as u64,
                counts: Default::default(),
                corrected: empty.clone(),
                uncorrected: empty.clone(),
                lag: empty,
            });
        }
        let target = &mut merged[second as usize];
        target.counts.add(&interval.counts);
        let add = |a: &SecondLatency, b: &SecondLatency| {
            // One that grows to hold both, whatever their ranges.
            let mut sum = second_histogram();
            for part in [a.histogram(), b.histogram()] {
                sum.add(part).map_err(|e| {
                    format!(
                        "second {}: cannot add its histograms: {e:?}",
                        interval.second
                    )
                })?;
            }
            Ok::<_, String>(SecondLatency::from_histogram(&sum))
        };
        target.corrected = add(&target.corrected, &interval.corrected)?;
        target.uncorrected = add(&target.uncorrected, &interval.uncorrected)?;
        target.lag = add(&target.lag, &interval.lag)?;
    }
    Ok(())
}

/// The shards' audits added up: each counted its own messages, and the
/// others' as foreign, so the merged `recorded` is the sum of each shard's
/// own records and `foreign` is not known (0).
fn merge_audits(audits: &[(Shard, &Audit)]) -> Audit {
    let mut counts = Counts::default();
    let mut sources = Vec::new();
    let mut topic = String::new();
    for (shard, audit) in audits {
        match audit {
            Audit::Checked {
                topic: t,
                source,
                counts: c,
            } => {
                topic.clone_from(t);
                if !sources.contains(source) {
                    sources.push(source.clone());
                }
                counts.recorded += c.recorded - c.foreign;
                counts.acked += c.acked;
                counts.lost += c.lost;
                counts.duplicates += c.duplicates;
                counts.reordered += c.reordered;
                counts.unacknowledged_recorded += c.unacknowledged_recorded;
            }
            Audit::Unavailable(why) => return Audit::Unavailable(format!("shard {shard}: {why}")),
            Audit::NotConfigured(why) => {
                return Audit::NotConfigured(format!("shard {shard}: {why}"));
            }
        }
    }
    Audit::Checked {
        topic,
        source: format!("{} shards through {}", audits.len(), sources.join(", ")),
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(recorded: u64, foreign: u64, acked: u64, lost: u64) -> Audit {
        Audit::Checked {
            topic: "t".into(),
            source: "the admin API at a:1".into(),
            counts: Counts {
                recorded,
                acked,
                lost,
                foreign,
                ..Counts::default()
            },
        }
    }

    #[test]
    fn the_shards_audits_add_up_their_own_messages() {
        let (one, two) = (Shard::new(1, 2).unwrap(), Shard::new(2, 2).unwrap());
        // Shard 1 saw 30 records, 10 of them shard 2's; shard 2 saw 20, 5 of them shard 1's.
        let (a, b) = (checked(30, 10, 20, 1), checked(20, 5, 15, 0));
        let Audit::Checked { counts, source, .. } = merge_audits(&[(one, &a), (two, &b)]) else {
            panic!("checked");
        };
        assert_eq!(
            (counts.recorded, counts.acked, counts.lost, counts.foreign),
            (35, 35, 1, 0)
        );
        assert_eq!(source, "2 shards through the admin API at a:1");
    }

    #[test]
    fn one_unaudited_shard_leaves_the_merged_run_unaudited_saying_which() {
        let (one, two) = (Shard::new(1, 2).unwrap(), Shard::new(2, 2).unwrap());
        let a = checked(30, 10, 20, 0);
        let b = Audit::NotConfigured("no admin API".into());
        assert_eq!(
            merge_audits(&[(one, &a), (two, &b)]),
            Audit::NotConfigured("shard 2/2: no admin API".into())
        );
    }

    #[test]
    fn nothing_to_merge_is_refused() {
        let err = merge(Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "cannot merge (none): no reports to merge");
    }
}
