"""A confluent-kafka transactional producer against the broker, and what its readers see.

Usage: transactions_confluent.py BOOTSTRAP TOPIC OUT_TOPIC GROUP
On TOPIC (2 partitions): commits c0 (p0), c1 (p1); aborts a0, a1; commits c2, c3. Then reads TOPIC
from the start with isolation.level read_committed and read_uncommitted. Then consume-transform-
produce: a member of GROUP reads TOPIC (read_committed), and a transaction writes the values to
OUT_TOPIC with send_offsets_to_transaction: aborted first, then again and committed; the group's
committed offsets are read (require_stable) after each.
Prints one JSON object: {"read_committed": [...], "read_uncommitted": [...], "positions": {p: o},
"committed_after_abort": {p: o}, "committed_after_commit": {p: o}}. Gives up (exit 1) after 60 s
per step.
"""

import json
import sys
import time

import confluent_kafka
from confluent_kafka import TopicPartition

DEADLINE_S = 60


def producer(bootstrap, transactional_id):
    p = confluent_kafka.Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": "txn-confluent-kafka",
            "transactional.id": transactional_id,
        }
    )
    p.init_transactions(DEADLINE_S)
    return p


def transaction(p, topic, records, commit):
    p.begin_transaction()
    for partition, value in records:
        p.produce(topic, key=value.encode(), value=value.encode(), partition=partition)
    p.flush(DEADLINE_S)
    if commit:
        p.commit_transaction(DEADLINE_S)
    else:
        p.abort_transaction(DEADLINE_S)


def read_all(bootstrap, topic, isolation, until):
    """Values read from both partitions until `until(values)` holds."""
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"txn-reader-{isolation}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.assign(
        [TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in (0, 1)]
    )
    values = []
    deadline = time.monotonic() + DEADLINE_S
    while not until(values):
        if time.monotonic() > deadline:
            raise SystemExit(f"{isolation}: gave up, read {values}")
        message = consumer.poll(0.1)
        if message is None:
            continue
        if message.error():
            raise SystemExit(f"consumer error: {message.error()}")
        values.append(message.value().decode())
    consumer.close()
    return values


def committed(consumer, topic):
    tps = consumer.committed([TopicPartition(topic, p) for p in (0, 1)], DEADLINE_S)
    return {str(tp.partition): tp.offset for tp in tps if tp.offset >= 0}


def main():
    bootstrap, topic, out_topic, group = sys.argv[1:5]
    p = producer(bootstrap, "txn-confluent")
    transaction(p, topic, [(0, "c0"), (1, "c1")], True)
    transaction(p, topic, [(0, "a0"), (1, "a1")], False)
    transaction(p, topic, [(0, "c2"), (1, "c3")], True)
    result = {
        "read_committed": read_all(
            bootstrap, topic, "read_committed", lambda v: "c2" in v and "c3" in v
        ),
        "read_uncommitted": read_all(
            bootstrap, topic, "read_uncommitted", lambda v: len(v) >= 6
        ),
    }

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "txn-confluent-kafka-member",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    read = []
    deadline = time.monotonic() + DEADLINE_S
    while len(read) < 4:
        if time.monotonic() > deadline:
            raise SystemExit(f"group member: gave up, read {read}")
        message = consumer.poll(0.1)
        if message is None:
            continue
        if message.error():
            raise SystemExit(f"consumer error: {message.error()}")
        read.append(message.value().decode())
    positions = consumer.position(consumer.assignment())
    result["positions"] = {str(tp.partition): tp.offset for tp in positions}
    for commit in (False, True):
        p.begin_transaction()
        for value in read:
            p.produce(out_topic, value=f"out-{value}".encode(), partition=0)
        # Delivered before the end, so that the aborted copies are in the log too.
        p.flush(DEADLINE_S)
        p.send_offsets_to_transaction(
            positions, consumer.consumer_group_metadata(), DEADLINE_S
        )
        if commit:
            p.commit_transaction(DEADLINE_S)
            result["committed_after_commit"] = committed(consumer, topic)
        else:
            p.abort_transaction(DEADLINE_S)
            result["committed_after_abort"] = committed(consumer, topic)
    consumer.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
