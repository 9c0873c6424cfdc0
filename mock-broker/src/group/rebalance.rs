//! The join round of a classic group: opening it, completing it, and the timers that
//! bound it (initial delay, rebalance timeout, pending syncs, sessions).

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::classic_group::{ClassicGroup, JoinTimer};
use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::protocol_selection::select_protocol;
use super::replies::{Output, SyncResponse};

impl ClassicGroup {
    /// The longest rebalance timeout of the members (0 without members).
    pub(super) fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .iter()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Whether every member rejoined and no member id handed out is still pending.
    fn all_members_joined(&self) -> bool {
        self.members.iter().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    /// Opens a join round unless one is open already (Kafka's `maybePrepareRebalance`).
    pub(super) fn maybe_prepare_rebalance(
        &mut self,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        if GroupState::PreparingRebalance.may_follow(self.state) {
            self.prepare_rebalance(config, now_ms, out);
        }
    }

    /// Opens a join round (Kafka's `prepareRebalance`): members waiting for an assignment
    /// are told REBALANCE_IN_PROGRESS; an empty group waits the initial delay, any other
    /// the longest rebalance timeout.
    pub(super) fn prepare_rebalance(
        &mut self,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        if self.state == GroupState::CompletingRebalance {
            for index in 0..self.members.len() {
                self.members[index].assignment = Bytes::new();
                let reply = SyncResponse::error(ResponseError::RebalanceInProgress);
                if self.answer_sync(index, reply, out) {
                    self.members[index].touch(now_ms);
                }
            }
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let rebalance_timeout = self.rebalance_timeout_ms();
        self.join_timer = Some(if self.state == GroupState::Empty {
            let delay = config.initial_rebalance_delay_ms;
            JoinTimer::Initial {
                deadline: now_ms + delay,
                delay_ms: delay,
                remaining_ms: (rebalance_timeout - delay).max(0),
            }
        } else {
            JoinTimer::Rebalance {
                deadline: now_ms + rebalance_timeout,
            }
        });
        self.transition(GroupState::PreparingRebalance, now_ms);
        self.try_complete_join(config, now_ms, out);
    }

    /// Completes the open join round if it can complete now: every member rejoined (after
    /// the initial delay, which cannot be cut short), or its timer is due.
    pub(super) fn try_complete_join(
        &mut self,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        match self.join_timer {
            Some(timer) if timer.deadline() <= now_ms => self.fire_join_timer(config, out),
            Some(JoinTimer::Rebalance { .. }) if self.all_members_joined() => {
                self.complete_join(now_ms, out)
            }
            _ => {}
        }
    }

    /// The join round's timer fired: the initial delay is extended while new members keep
    /// joining and time remains, otherwise the round completes.
    fn fire_join_timer(&mut self, config: &GroupConfig, out: &mut Vec<Output>) {
        let Some(timer) = self.join_timer else {
            return;
        };
        let at = timer.deadline();
        match timer {
            JoinTimer::Initial {
                delay_ms,
                remaining_ms,
                ..
            } if self.new_member_added && remaining_ms != 0 => {
                self.new_member_added = false;
                let delay = config.initial_rebalance_delay_ms.min(remaining_ms);
                self.join_timer = Some(JoinTimer::Initial {
                    deadline: at + delay,
                    delay_ms: delay,
                    remaining_ms: (remaining_ms - delay_ms).max(0),
                });
                self.try_complete_join(config, at, out);
            }
            _ => self.complete_join(at, out),
        }
    }

    /// Ends the join round (Kafka's `onCompleteJoin`): dynamic members that did not rejoin
    /// are removed, a member that rejoined leads if the leader did not, and the next
    /// generation starts: every waiting JoinGroup is answered and members must sync within
    /// the rebalance timeout. With no member rejoined the round waits another timeout.
    fn complete_join(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for member_id in gone {
            self.remove(&member_id, out);
        }
        if !self.elect_joined_leader() && !self.members.is_empty() {
            // At least 1 ms on, so that a zero timeout cannot fire again at the same instant.
            self.join_timer = Some(JoinTimer::Rebalance {
                deadline: now_ms + self.rebalance_timeout_ms().max(1),
            });
            return;
        }
        self.join_timer = None;
        self.new_member_added = false;
        self.generation += 1;
        self.pending_sync.clear();
        self.sync_deadline = None;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = self.compute_subscribed_topics();
            self.transition(GroupState::Empty, now_ms);
            return;
        }
        self.protocol_name = select_protocol(&self.members);
        self.subscribed_topics = self.compute_subscribed_topics();
        self.transition(GroupState::CompletingRebalance, now_ms);
        for index in 0..self.members.len() {
            let reply = self.current_join_reply(&self.members[index].id);
            self.answer_join(index, reply, out);
            let member = &mut self.members[index];
            member.touch(now_ms);
            member.is_new = false;
            self.pending_sync.insert(member.id.clone());
        }
        self.sync_deadline = Some(now_ms + self.rebalance_timeout_ms());
    }

    /// Keeps the leader if it rejoined, else makes the first member that rejoined lead
    /// (Kafka's `maybeElectNewJoinedLeader`); false when no member rejoined.
    fn elect_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.as_deref() else {
            return false;
        };
        if self
            .members
            .iter()
            .any(|m| m.id == leader && m.awaiting_join.is_some())
        {
            return true;
        }
        match self.members.iter().find(|m| m.awaiting_join.is_some()) {
            Some(joined) => {
                self.leader = Some(joined.id.clone());
                true
            }
            None => false,
        }
    }

    /// Removes a member that left or whose session expired, and moves the group on
    /// (Kafka's `removeMemberAndUpdateGroup`).
    pub(super) fn remove_member_and_update(
        &mut self,
        member_id: &str,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        self.remove(member_id, out);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(config, now_ms, out)
            }
            GroupState::PreparingRebalance => self.try_complete_join(config, now_ms, out),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Forgets a member id handed out with MEMBER_ID_REQUIRED; a round waiting for it may
    /// complete now.
    pub(super) fn remove_pending_member(
        &mut self,
        member_id: &str,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        self.pending_members.remove(member_id);
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(config, now_ms, out);
        }
    }

    /// Members of the new generation that did not sync in time are removed and a new
    /// round opens (Kafka's `onExpirePendingSync`).
    fn expire_pending_sync(&mut self, config: &GroupConfig, at: i64, out: &mut Vec<Output>) {
        self.sync_deadline = None;
        if !matches!(
            self.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) || self.pending_sync.is_empty()
        {
            return;
        }
        let late: Vec<String> = std::mem::take(&mut self.pending_sync).into_iter().collect();
        for member_id in late {
            self.remove(&member_id, out);
        }
        self.prepare_rebalance(config, at, out);
    }

    /// When the group's next timer fires, if any.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        let timers = [self.join_timer.map(JoinTimer::deadline), self.sync_deadline];
        timers
            .into_iter()
            .flatten()
            .chain(self.members.iter().filter_map(|m| m.expires_at()))
            .chain(self.pending_members.values().copied())
            .min()
    }

    /// Fires every timer due at or before `now_ms`, in the order of their deadlines, each
    /// at its own deadline.
    pub(crate) fn advance(&mut self, config: &GroupConfig, now_ms: i64, out: &mut Vec<Output>) {
        while let Some(at) = self.next_deadline().filter(|&at| at <= now_ms) {
            if self.join_timer.is_some_and(|t| t.deadline() == at) {
                self.fire_join_timer(config, out);
            } else if self.sync_deadline == Some(at) {
                self.expire_pending_sync(config, at, out);
            } else if let Some(member) = self.members.iter().find(|m| m.expires_at() == Some(at)) {
                let member_id = member.id.clone();
                self.remove_member_and_update(&member_id, config, at, out);
            } else if let Some(pending) = self
                .pending_members
                .iter()
                .find(|(_, deadline)| **deadline == at)
                .map(|(id, _)| id.clone())
            {
                self.remove_pending_member(&pending, config, at, out);
            }
        }
    }
}
