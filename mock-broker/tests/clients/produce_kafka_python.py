"""Produces COUNT messages with kafka-python, options being KafkaProducer arguments.

Usage: produce_kafka_python.py BOOTSTRAP TOPIC COUNT [name=value ...] [--deliveries FILE]
Example: produce_kafka_python.py 127.0.0.1:9092 demo 100 compression_type=gzip
Values that look like integers or true/false are passed as such; api_version=2.3 becomes (2, 3),
which skips the version probe (needed for brokers that do not answer ApiVersions v4, such as
librdkafka's mock cluster).
"""

import time

import kafka

from common import DELIVERY_TIMEOUT_S, FLUSH_TIMEOUT_S, finish, message, parse_args

CLIENT = "kafka-python"


def typed(name, value):
    if name == "api_version":
        return tuple(int(part) for part in value.split("."))
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        return value


def main():
    args, options = parse_args(__doc__)
    config = {
        "client_id": "real-clients-kafka-python",
        "delivery_timeout_ms": DELIVERY_TIMEOUT_S * 1000,
        **{name: typed(name, value) for name, value in options.items()},
    }
    started = time.monotonic()
    producer = kafka.KafkaProducer(bootstrap_servers=args.bootstrap.split(","), **config)
    futures = []
    for i in range(args.count):
        key, value, headers = message(i, CLIENT)
        futures.append((key.decode(), producer.send(args.topic, key=key, value=value, headers=headers)))
    deliveries, errors = {}, []
    try:
        producer.flush(timeout=FLUSH_TIMEOUT_S)
    except kafka.errors.KafkaTimeoutError as e:
        errors.append(f"flush did not finish within {FLUSH_TIMEOUT_S} s: {e}")
    for key, future in futures:
        if not future.is_done:
            errors.append(f"{key}: not delivered")
        elif future.failed():
            errors.append(f"{key}: {future.exception!r}")
        else:
            deliveries[key] = [future.value.partition, future.value.offset]
    producer.close(timeout=FLUSH_TIMEOUT_S)
    finish(f"{CLIENT} {kafka.__version__}", args, deliveries, errors, started)


if __name__ == "__main__":
    main()
