"""Produces COUNT messages with confluent-kafka (librdkafka), options being librdkafka properties.

Usage: produce_confluent_kafka.py BOOTSTRAP TOPIC COUNT [prop=value ...] [--deliveries FILE]
Example: produce_confluent_kafka.py 127.0.0.1:9092 demo 100 enable.idempotence=true
"""

import time

import confluent_kafka

from common import DELIVERY_TIMEOUT_S, FLUSH_TIMEOUT_S, finish, message, parse_args

CLIENT = "confluent-kafka"


def main():
    args, options = parse_args(__doc__)
    config = {
        "bootstrap.servers": args.bootstrap,
        "client.id": "real-clients-confluent-kafka",
        "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
        **options,
    }
    producer = confluent_kafka.Producer(config)
    deliveries, errors = {}, []

    def on_delivery(err, msg):
        key = msg.key().decode()
        if err is not None:
            errors.append(f"{key}: {err}")
        else:
            deliveries[key] = [msg.partition(), msg.offset()]

    started = time.monotonic()
    for i in range(args.count):
        key, value, headers = message(i, CLIENT)
        while True:
            try:
                producer.produce(
                    args.topic, key=key, value=value, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                producer.poll(0.1)  # the local queue is full: serve deliveries, then retry
        producer.poll(0)
    undelivered = producer.flush(FLUSH_TIMEOUT_S)
    if undelivered:
        errors.append(f"{undelivered} messages still queued after {FLUSH_TIMEOUT_S} s")
    version = f"{CLIENT} {confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})"
    finish(version, args, deliveries, errors, started)


if __name__ == "__main__":
    main()
