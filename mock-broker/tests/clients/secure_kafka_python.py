"""Produces COUNT messages over a secured listener with kafka-python, then reads them back.

Usage: secure_kafka_python.py BOOTSTRAP TOPIC COUNT [name=value ...]
The options are kafka-python's: security_protocol, sasl_mechanism, sasl_plain_username,
sasl_plain_password, ssl_cafile. Message i has value "v{i}". Prints {"consumed": ["v0", ...]} on
success. Exits 1 naming the error otherwise; kafka-python only logs why the broker refused it
(SaslAuthenticationFailedError) and then backs off for half a minute before failing to bootstrap,
so the script exits as soon as that is logged, with the logged reason.
"""

import json
import logging
import os
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from common import DELIVERY_TIMEOUT_S, parse_args


def fail(reason):
    print(f"secure_kafka_python.py: {reason}", file=sys.stderr, flush=True)
    # From inside kafka-python's logging too, where an exception would be swallowed.
    os._exit(1)


class Refusals(logging.Handler):
    """Ends the script at the first authentication failure kafka-python logs."""

    def emit(self, record):
        text = record.getMessage()
        if "SaslAuthenticationFailedError" in text:
            fail(text)


def main():
    args, options = parse_args(__doc__)
    logging.getLogger("kafka").addHandler(Refusals())
    logging.getLogger("kafka").setLevel(logging.WARNING)
    try:
        producer = KafkaProducer(bootstrap_servers=args.bootstrap, max_block_ms=10000, **options)
        for i in range(args.count):
            producer.send(args.topic, f"v{i}".encode()).get(timeout=DELIVERY_TIMEOUT_S)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, **options)
        partition = TopicPartition(args.topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        consumed = []
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while len(consumed) < args.count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                consumed.extend(r.value.decode() for r in records)
        consumer.close()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
    print(json.dumps({"consumed": consumed}))


if __name__ == "__main__":
    main()
