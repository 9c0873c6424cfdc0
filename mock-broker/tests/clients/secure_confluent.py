"""Produces COUNT messages over a secured listener with confluent-kafka, then reads them back.

Usage: secure_confluent.py BOOTSTRAP TOPIC COUNT [prop=value ...]
The properties are librdkafka's: security.protocol, sasl.mechanisms, sasl.username, sasl.password,
ssl.ca.location. Message i has value "v{i}". Prints {"consumed": ["v0", ...]} on success. Exits 1
naming the error otherwise, at once when the broker refuses the credentials (librdkafka would
otherwise keep retrying until the message timeout).
"""

import json
import sys
import time

import confluent_kafka
from confluent_kafka import KafkaError, TopicPartition

from common import DELIVERY_TIMEOUT_S, parse_args


class Errors:
    """The first authentication error librdkafka reports, through error_cb."""

    def __init__(self):
        self.authentication = None

    def __call__(self, error):
        if error.code() == KafkaError._AUTHENTICATION and self.authentication is None:
            self.authentication = error.str()


def fail(message):
    print(f"secure_confluent.py: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    args, options = parse_args(__doc__)
    errors = Errors()
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
            "error_cb": errors,
            **options,
        }
    )
    failed = []
    delivered = []

    def report(error, msg):
        if error is None:
            delivered.append(msg.offset())
        else:
            failed.append(str(error))

    for i in range(args.count):
        producer.produce(args.topic, value=f"v{i}".encode(), on_delivery=report)
    while len(delivered) + len(failed) < args.count:
        producer.poll(0.1)
        if errors.authentication:
            fail(f"authentication failed: {errors.authentication}")
        if time.monotonic() > deadline:
            fail(f"{len(delivered)} of {args.count} delivered in {DELIVERY_TIMEOUT_S} s")
    if failed:
        fail(f"delivery failed: {failed[0]}")

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "secure-confluent",
            "enable.auto.commit": False,
            "error_cb": errors,
            **options,
        }
    )
    consumer.assign([TopicPartition(args.topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    consumed = []
    while len(consumed) < args.count:
        msg = consumer.poll(0.5)
        if errors.authentication:
            fail(f"authentication failed: {errors.authentication}")
        if time.monotonic() > deadline:
            fail(f"{len(consumed)} of {args.count} consumed in {DELIVERY_TIMEOUT_S} s")
        if msg is None:
            continue
        if msg.error():
            fail(f"consume failed: {msg.error()}")
        consumed.append(msg.value().decode())
    consumer.close()
    print(json.dumps({"consumed": consumed}))


if __name__ == "__main__":
    main()
