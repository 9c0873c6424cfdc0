"""Administers a consumer group with a Python client's admin API and prints what it saw.

Usage: group_admin.py CLIENT PHASE BOOTSTRAP TOPIC GROUP COUNT
CLIENT is confluent-kafka (AdminClient) or kafka-python (KafkaAdminClient).

PHASE inspect: a consumer of the same client joins GROUP, reads the COUNT messages of TOPIC and
commits them; while it is a member the admin client lists the groups (Stable and Empty filters),
describes GROUP, lists its committed offsets and tries to delete it (NON_EMPTY_GROUP); the
consumer closes, the admin client waits until GROUP is Empty, alters the committed offset of
partition 0 to 1 and lists the offsets again.
PHASE delete: the admin client deletes GROUP (now empty) and lists the groups again.

Prints one JSON object (see `report` below); every name is normalised across both clients so the
Rust test (mock-broker/tests/group_admin_clients.rs) checks both the same way. Gives up (exit 1)
after 60 s of waiting for anything.
"""

import json
import sys
import time

DEADLINE_S = 60


def wait_until(what, check):
    """Calls check() until it returns something truthy; exits after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise SystemExit(f"{what}: not within {DEADLINE_S} s")


def offsets_list(pairs):
    """[[topic, partition, offset], ...] sorted."""
    return sorted([t, p, o] for t, p, o in pairs)


# ---------------------------------------------------------------------------------------------
# confluent-kafka


class Confluent:
    def __init__(self, bootstrap):
        import confluent_kafka
        import confluent_kafka.admin as admin

        self.ck = confluent_kafka
        self.admin_module = admin
        self.bootstrap = bootstrap
        self.admin = admin.AdminClient(
            {"bootstrap.servers": bootstrap, "client.id": "group-admin-confluent-kafka"}
        )

    def consume_all(self, topic, group, count):
        consumer = self.ck.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": group,
                "client.id": "group-admin-member",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
            }
        )
        consumer.subscribe([topic])
        read = 0
        deadline = time.monotonic() + DEADLINE_S
        while read < count and time.monotonic() < deadline:
            message = consumer.poll(0.1)
            if message is None:
                continue
            if message.error():
                raise SystemExit(f"consumer error: {message.error()}")
            read += 1
        if read != count:
            raise SystemExit(f"read {read} of {count}")
        consumer.commit(asynchronous=False)
        return consumer

    def close(self, consumer):
        consumer.close()

    def list_groups(self, state):
        states = {
            "Stable": self.ck.ConsumerGroupState.STABLE,
            "Empty": self.ck.ConsumerGroupState.EMPTY,
        }
        result = self.admin.list_consumer_groups(states={states[state]}).result()
        if result.errors:
            raise SystemExit(f"list_consumer_groups errors: {result.errors}")
        return sorted(g.group_id for g in result.valid)

    def describe(self, group):
        description = self.admin.describe_consumer_groups([group])[group].result()
        state_names = {
            self.ck.ConsumerGroupState.STABLE: "Stable",
            self.ck.ConsumerGroupState.EMPTY: "Empty",
            self.ck.ConsumerGroupState.PREPARING_REBALANCING: "PreparingRebalance",
            self.ck.ConsumerGroupState.COMPLETING_REBALANCING: "CompletingRebalance",
            self.ck.ConsumerGroupState.DEAD: "Dead",
        }
        return {
            "state": state_names.get(description.state, str(description.state)),
            "protocol": description.partition_assignor,
            "members": [
                {
                    "member_id": m.member_id,
                    "client_id": m.client_id,
                    "host": m.host,
                    "assignment": sorted(
                        [tp.topic, tp.partition] for tp in m.assignment.topic_partitions
                    ),
                }
                for m in description.members
            ],
        }

    def offsets(self, group):
        request = [self.ck.ConsumerGroupTopicPartitions(group)]
        result = self.admin.list_consumer_group_offsets(request)[group].result()
        return offsets_list((tp.topic, tp.partition, tp.offset) for tp in result.topic_partitions)

    def alter(self, group, topic, partition, offset):
        request = [
            self.ck.ConsumerGroupTopicPartitions(
                group, [self.ck.TopicPartition(topic, partition, offset)]
            )
        ]
        result = self.admin.alter_consumer_group_offsets(request)[group].result()
        errors = [tp.error for tp in result.topic_partitions if tp.error]
        if errors:
            raise SystemExit(f"alter_consumer_group_offsets: {errors}")

    def delete(self, group):
        """None on success, else the error's name."""
        try:
            self.admin.delete_consumer_groups([group])[group].result()
            return None
        except self.ck.KafkaException as e:
            return e.args[0].name()


# ---------------------------------------------------------------------------------------------
# kafka-python


class KafkaPython:
    def __init__(self, bootstrap):
        import kafka

        self.kafka = kafka
        self.bootstrap = bootstrap
        self.admin = kafka.KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="group-admin-kafka-python"
        )

    def consume_all(self, topic, group, count):
        consumer = self.kafka.KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group,
            client_id="group-admin-member",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
        )
        # See subscribe_with_metadata in consume_group.py: metadata first, then one join round.
        deadline = time.monotonic() + DEADLINE_S
        while not consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                raise SystemExit(f"no metadata for {topic} within {DEADLINE_S} s")
            time.sleep(0.1)
        consumer.subscribe([topic])
        read = 0
        deadline = time.monotonic() + DEADLINE_S
        while read < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=100).values():
                read += len(records)
        if read != count:
            raise SystemExit(f"read {read} of {count}")
        while True:
            try:
                # Every message was read: the positions are the partitions' ends.
                consumer.commit()
                return consumer
            except (
                self.kafka.errors.RebalanceInProgressError,
                self.kafka.errors.CommitFailedError,
            ):
                # kafka-python rejoins when its metadata snapshot changes; wait the round out.
                if time.monotonic() > deadline:
                    raise
                consumer.poll(timeout_ms=100)

    def close(self, consumer):
        consumer.close()

    def list_groups(self, state):
        return sorted(g["group_id"] for g in self.admin.list_groups(states_filter=[state]))

    def describe(self, group):
        description = self.admin.describe_groups([group])[group]
        if description.get("error"):
            raise SystemExit(f"describe_groups: {description['error']}")
        members = []
        for m in description["members"]:
            pairs = []
            for assigned in m["member_assignment"]["assigned_partitions"]:
                pairs.extend([assigned["topic"], p] for p in assigned["partitions"])
            members.append(
                {
                    "member_id": m["member_id"],
                    "client_id": m["client_id"],
                    "host": m["client_host"],
                    "assignment": sorted(pairs),
                }
            )
        return {
            "state": description["group_state"],
            "protocol": description["protocol_data"],
            "members": members,
        }

    def offsets(self, group):
        result = self.admin.list_group_offsets({group: None})[group]
        return offsets_list((tp.topic, tp.partition, om.offset) for tp, om in result.items())

    def alter(self, group, topic, partition, offset):
        tp = self.kafka.TopicPartition(topic, partition)
        om = self.kafka.structs.OffsetAndMetadata(offset, "", -1)
        result = self.admin.alter_group_offsets(group, {tp: om})
        errors = [e for e in result.values() if e is not self.kafka.errors.NoError]
        if errors:
            raise SystemExit(f"alter_group_offsets: {errors}")

    def delete(self, group):
        """None on success, else the error's name."""
        # {group: error class name}, "OK" on success.
        error = self.admin.delete_groups([group])[group]
        if error in (None, "NoError", "OK"):
            return None
        return getattr(self.kafka.errors, error).message


# ---------------------------------------------------------------------------------------------


def main():
    client_name, phase, bootstrap, topic, group, count = sys.argv[1:7]
    client = {"confluent-kafka": Confluent, "kafka-python": KafkaPython}[client_name](bootstrap)
    report = {}
    if phase == "inspect":
        consumer = client.consume_all(topic, group, int(count))
        report["stable_groups"] = wait_until(
            "the group is listed as Stable",
            lambda: [g for g in client.list_groups("Stable") if g == group],
        )
        report["empty_groups_while_member"] = client.list_groups("Empty")
        report["described"] = client.describe(group)
        report["offsets"] = client.offsets(group)
        report["delete_while_member"] = client.delete(group)
        client.close(consumer)
        wait_until("the group is Empty", lambda: client.describe(group)["state"] == "Empty")
        report["empty_groups_after_close"] = client.list_groups("Empty")
        client.alter(group, topic, 0, 1)
        report["offsets_after_alter"] = client.offsets(group)
    elif phase == "delete":
        report["delete_when_empty"] = client.delete(group)
        report["empty_groups_after_delete"] = client.list_groups("Empty")
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
