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


def kafka_python(bootstrap, topic, group, count):
    import kafka

    consumer = kafka.KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="groups-kafka-python",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        max_poll_records=1,
    )
    read = []
    deadline = time.monotonic() + DEADLINE_S
    while len(read) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100, max_records=1).values():
            for message in records:
                read.append([message.partition, message.offset, message.key.decode()])
    if len(read) == count:
        consumer.commit()
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
