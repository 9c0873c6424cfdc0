"""Produces COUNT messages with confluent-kafka (librdkafka), options being librdkafka properties.

Usage: produce_confluent_kafka.py BOOTSTRAP TOPIC COUNT [prop=value ...] [--deliveries FILE]
Example: produce_confluent_kafka.py 127.0.0.1:9092 demo 100 enable.idempotence=true

With compression.type set, every batch must go out compressed: librdkafka silently sends batches
uncompressed when it decides the broker cannot take the codec (it derives that from the broker's
ApiVersions answer), so the script reads librdkafka's own log of each Produce batch and fails if any
went out otherwise.
"""

import logging
import re
import time

import confluent_kafka

from common import DELIVERY_TIMEOUT_S, FLUSH_TIMEOUT_S, finish, message, parse_args

CLIENT = "confluent-kafka"

# librdkafka's debug=msg line for each batch it sends, ending with the codec it used.
BATCH = re.compile(r"Produce MessageSet with \d+ message\(s\) \(.*, (\w+)\)$")
NOT_COMPRESSING = re.compile(r"not compressing batch|sending uncompressed")


class BatchLog(logging.Handler):
    """Collects the codec of every batch librdkafka sends, and why it did not compress one."""

    def __init__(self):
        super().__init__()
        self.codecs = {}
        self.reasons = []

    def emit(self, record):
        text = record.getMessage()
        batch = BATCH.search(text)
        if batch:
            codec = batch.group(1)
            self.codecs[codec] = self.codecs.get(codec, 0) + 1
        elif NOT_COMPRESSING.search(text) and len(self.reasons) < 3:
            self.reasons.append(text.split("]: ", 1)[-1])


def main():
    args, options = parse_args(__doc__)
    config = {
        "bootstrap.servers": args.bootstrap,
        "client.id": "real-clients-confluent-kafka",
        "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
        **options,
    }
    codec = options.get("compression.type", options.get("compression.codec", "none"))
    batch_log = None
    if codec != "none":
        batch_log = BatchLog()
        logger = logging.getLogger("librdkafka")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(batch_log)
        config["debug"] = ",".join(filter(None, [config.get("debug"), "msg"]))
        config["logger"] = logger
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
    if batch_log is not None:
        batches = sum(batch_log.codecs.values())
        other = batches - batch_log.codecs.get(codec, 0)
        if batches == 0:
            errors.append("librdkafka logged no Produce batches: cannot tell whether it compressed")
        elif other:
            errors.append(
                f"compression.type={codec}, but librdkafka sent {other} of {batches} batches "
                f"otherwise ({batch_log.codecs}): {'; '.join(batch_log.reasons)}"
            )
        spread = ", ".join(f"{c}: {n}" for c, n in sorted(batch_log.codecs.items()))
        version += f", batches {{{spread}}}"
    finish(version, args, deliveries, errors, started)


if __name__ == "__main__":
    main()
