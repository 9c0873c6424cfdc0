"""confluent-kafka's AdminClient against the mock broker: creates, describes, alters and deletes.

Usage: admin_confluent_kafka.py BOOTSTRAP PREFIX
Every step asserts what Apache Kafka would answer; the last line printed is a JSON summary the Rust
test (mock-broker/tests/admin_clients.rs) checks against the broker's own view.
"""

import json
import sys

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

TIMEOUT_S = 60


def result(futures):
    """The single future's result, waiting up to TIMEOUT_S."""
    (future,) = futures.values()
    return future.result(timeout=TIMEOUT_S)


def error_of(futures):
    """The Kafka error name the single future fails with (or None if it succeeds)."""
    try:
        result(futures)
    except KafkaException as e:
        return e.args[0].name()
    return None


def describe_topic(admin, topic):
    return result(admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]))


def main():
    bootstrap, prefix = sys.argv[1], sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "admin-confluent-kafka"})
    main_topic, checked, dropped = f"{prefix}-main", f"{prefix}-validated", f"{prefix}-dropped"

    # CreateTopics: created, validate_only, already there, bad name, bad replication factor.
    result(admin.create_topics([NewTopic(main_topic, 3, 1, config={"retention.ms": "3600000"})]))
    result(admin.create_topics([NewTopic(checked, 2, 1)], validate_only=True))
    assert error_of(admin.create_topics([NewTopic(main_topic, 3, 1)])) == "TOPIC_ALREADY_EXISTS"
    assert error_of(admin.create_topics([NewTopic("bad name!", 1, 1)])) == "TOPIC_EXCEPTION"  # INVALID_TOPIC_EXCEPTION, as librdkafka names it
    assert error_of(admin.create_topics([NewTopic(f"{prefix}-rf", 1, 3)])) == "INVALID_REPLICATION_FACTOR"
    assert (
        error_of(admin.create_topics([NewTopic(f"{prefix}-cfg", 1, 1, config={"no.such": "1"})]))
        == "INVALID_CONFIG"
    )

    # DescribeConfigs: Kafka's defaults, and the override made at creation.
    configs = describe_topic(admin, main_topic)
    assert configs["cleanup.policy"].value == "delete", configs["cleanup.policy"]
    assert configs["cleanup.policy"].is_default
    assert configs["compression.type"].value == "producer"
    assert configs["min.insync.replicas"].value == "1"
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default
    broker = result(admin.describe_configs([ConfigResource(ResourceType.BROKER, "1")]))
    assert broker["num.partitions"].value == "1", broker["num.partitions"]
    assert broker["log.retention.ms"].value == "604800000"

    # AlterConfigs replaces every override; IncrementalAlterConfigs changes one at a time.
    result(admin.alter_configs([ConfigResource(ResourceType.TOPIC, main_topic, set_config={"retention.bytes": "100000"})]))
    configs = describe_topic(admin, main_topic)
    assert configs["retention.bytes"].value == "100000"
    assert configs["retention.ms"].value == "604800000" and configs["retention.ms"].is_default
    incremental = [
        ConfigEntry("max.message.bytes", "200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
    ]
    result(admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, main_topic, incremental_configs=incremental)]))
    configs = describe_topic(admin, main_topic)
    assert configs["max.message.bytes"].value == "200000"
    assert configs["cleanup.policy"].value == "delete,compact", configs["cleanup.policy"]
    bad = [ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)]
    assert (
        error_of(admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, main_topic, incremental_configs=bad)]))
        == "INVALID_CONFIG"
    )

    # CreatePartitions: grows, refuses to shrink, validate_only changes nothing.
    result(admin.create_partitions([NewPartitions(main_topic, 5)]))
    assert error_of(admin.create_partitions([NewPartitions(main_topic, 2)])) == "INVALID_PARTITIONS"
    result(admin.create_partitions([NewPartitions(main_topic, 8)], validate_only=True))

    # The new partition takes records; DeleteRecords moves partition 0's start.
    producer = Producer({"bootstrap.servers": bootstrap, "topic.metadata.refresh.interval.ms": 1000})
    for i in range(10):
        producer.produce(main_topic, value=f"p0-{i}".encode(), partition=0)
    producer.produce(main_topic, value=b"in the new partition", partition=4)
    assert producer.flush(TIMEOUT_S) == 0, "every message delivered"
    (deleted,) = admin.delete_records([TopicPartition(main_topic, 0, 4)]).values()
    low_watermark = deleted.result(timeout=TIMEOUT_S).low_watermark
    assert low_watermark == 4, low_watermark
    (past,) = admin.delete_records([TopicPartition(main_topic, 0, 99)]).values()
    try:
        past.result(timeout=TIMEOUT_S)
        raise AssertionError("deleting past the high watermark succeeded")
    except KafkaException as e:
        assert e.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE, e

    # DeleteTopics.
    result(admin.create_topics([NewTopic(dropped, 1, 1)]))
    result(admin.delete_topics([dropped]))
    assert error_of(admin.delete_topics([f"{prefix}-never"])) == "UNKNOWN_TOPIC_OR_PART"  # as librdkafka names it

    cluster = admin.describe_cluster().result(timeout=TIMEOUT_S)
    print(json.dumps({
        "cluster_id": cluster.cluster_id,
        "controller": cluster.controller.id,
        "brokers": [n.id for n in cluster.nodes],
        "low_watermark": low_watermark,
    }))


if __name__ == "__main__":
    main()
