"""Reads COUNT messages of TOPIC as a member of GROUP, commits them, closes, and prints what it read.

Usage: consume_group.py CLIENT BOOTSTRAP TOPIC GROUP COUNT
CLIENT is confluent-kafka or kafka-python. Prints one JSON line: [[partition, offset, key], ...].
Gives up (exit 1) after 60 s.
"""

import json
import sys
import time

DEADLINE_S = 60


def confluent(bootstrap, topic, group, count):
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "groups-confluent-kafka",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    read = []
    deadline = time.monotonic() + DEADLINE_S
    while len(read) < count and time.monotonic() < deadline:
        message = consumer.poll(0.1)
        if message is None:
            continue
        if message.error():
            raise SystemExit(f"consumer error: {message.error()}")
        read.append([message.partition(), message.offset(), message.key().decode()])
    if len(read) == count:
        consumer.commit(asynchronous=False)
    consumer.close()
    return read


def subscribe_with_metadata(consumer, topic):
    """Subscribes a kafka-python consumer to `topic` once it has the topic's metadata.

    kafka-python 3.0.12 can stall when the topic's metadata arrives while it joins: the leader
    assigns nothing (no metadata yet), the new metadata makes it rejoin at once, and under load the
    answer to that second SyncGroup (which the broker sends) is sometimes never acted on, so the
    consumer waits forever with no partitions. With the metadata first, the first assignment is
    complete and there is no second round.
    """
    deadline = time.monotonic() + DEADLINE_S
    while not consumer.partitions_for_topic(topic):
        if time.monotonic() > deadline:
            raise SystemExit(f"no metadata for {topic} within {DEADLINE_S} s")
        time.sleep(0.1)
    consumer.subscribe([topic])


def kafka_python(bootstrap, topic, group, count):
    import logging

    import kafka

    # kafka-python logs its group membership at INFO: on stderr, shown only when a test fails.
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )

    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="groups-kafka-python",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        max_poll_records=1,
    )
    subscribe_with_metadata(consumer, topic)
    read = []
    deadline = time.monotonic() + DEADLINE_S
    while len(read) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100, max_records=1).values():
            for message in records:
                read.append([message.partition, message.offset, message.key.decode()])
    if len(read) == count:
        # What was read, not the positions: a poll while retrying may fetch more.
        offsets = {}
        for partition, offset, _ in read:
            tp = kafka.TopicPartition(topic, partition)
            offsets[tp] = max(offsets.get(tp, 0), offset + 1)
        offsets = {tp: kafka.OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()}
        while True:
            try:
                consumer.commit(offsets)
                break
            except (kafka.errors.RebalanceInProgressError, kafka.errors.CommitFailedError):
                # kafka-python rejoins whenever its metadata snapshot changes (several times
                # while it starts); a commit must wait for the round to end, as in any app.
                if time.monotonic() > deadline:
                    raise
                consumer.poll(timeout_ms=100, max_records=1)
    else:
        print(f"assignment at the deadline: {consumer.assignment()}", file=sys.stderr)
    consumer.close()
    return read


def main():
    client, bootstrap, topic, group, count = sys.argv[1:6]
    count = int(count)
    read = {"confluent-kafka": confluent, "kafka-python": kafka_python}[client](
        bootstrap, topic, group, count
    )
    print(json.dumps(read))
    if len(read) != count:
        print(f"read {len(read)} of {count} within {DEADLINE_S} s", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
