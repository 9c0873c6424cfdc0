"""kafka-python's KafkaAdminClient against the mock broker: the same steps as admin_confluent_kafka.py.

Usage: admin_kafka_python.py BOOTSTRAP PREFIX
Every step asserts what Apache Kafka would answer; the last line printed is a JSON summary the Rust
test (mock-broker/tests/admin_clients.rs) checks against the broker's own view.
"""

import json
import sys

from kafka import KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    KafkaError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)

TIMEOUT_MS = 60_000


def refused(error_type, call, *args, **kwargs):
    """Asserts that call(*args, **kwargs) raises error_type."""
    try:
        call(*args, **kwargs)
    except error_type:
        return
    except KafkaError as e:
        raise AssertionError(f"expected {error_type.__name__}, got {e!r}") from e
    raise AssertionError(f"expected {error_type.__name__}, got success")


def topic_configs(admin, topic):
    """{name: value} of every config of the topic."""
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    (configs,) = described["topic"].values()
    return {name: entry["value"] for name, entry in configs.items()}


def main():
    bootstrap, prefix = sys.argv[1], sys.argv[2]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="admin-kafka-python", request_timeout_ms=TIMEOUT_MS)
    main_topic, checked, dropped = f"{prefix}-main", f"{prefix}-validated", f"{prefix}-dropped"

    admin.create_topics({main_topic: {"num_partitions": 3, "replication_factor": 1, "configs": {"retention.ms": "3600000"}}})
    admin.create_topics({checked: {"num_partitions": 2, "replication_factor": 1}}, validate_only=True)
    refused(TopicAlreadyExistsError, admin.create_topics, {main_topic: {"num_partitions": 3}})
    refused(InvalidTopicError, admin.create_topics, {"bad name!": {"num_partitions": 1}})
    refused(InvalidReplicationFactorError, admin.create_topics, {f"{prefix}-rf": {"num_partitions": 1, "replication_factor": 3}})
    refused(InvalidConfigurationError, admin.create_topics, {f"{prefix}-cfg": {"num_partitions": 1, "configs": {"no.such": "1"}}})

    configs = topic_configs(admin, main_topic)
    assert configs["cleanup.policy"] == "delete", configs
    assert configs["compression.type"] == "producer", configs
    assert configs["retention.ms"] == "3600000", configs

    # AlterConfigs (forced) replaces every override; IncrementalAlterConfigs changes one at a time.
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, main_topic, {"retention.bytes": "100000"})],
                        incremental=False, raise_on_unknown=False)
    configs = topic_configs(admin, main_topic)
    assert configs["retention.bytes"] == "100000", configs
    # kafka-python sends the other overrides along, so AlterConfigs keeps them: delete it instead.
    assert configs["retention.ms"] == "3600000", configs
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, main_topic, {
        "retention.ms": (AlterConfigOp.DELETE, None),
        "max.message.bytes": (AlterConfigOp.SET, "200000"),
        "cleanup.policy": (AlterConfigOp.APPEND, "compact"),
    })], incremental=True, raise_on_unknown=False)
    configs = topic_configs(admin, main_topic)
    assert configs["max.message.bytes"] == "200000", configs
    assert configs["cleanup.policy"] == "delete,compact", configs
    assert configs["retention.ms"] == "604800000", configs
    result = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, main_topic, {"retention.ms": (AlterConfigOp.SET, "soon")})],
                                 incremental=True, raise_on_unknown=False)
    assert "InvalidConfiguration" in repr(result), result

    admin.create_partitions({main_topic: 5})
    refused(InvalidPartitionsError, admin.create_partitions, {main_topic: 2})
    admin.create_partitions({main_topic: 8}, validate_only=True)

    producer = KafkaProducer(bootstrap_servers=bootstrap, metadata_max_age_ms=1000)
    for i in range(10):
        producer.send(main_topic, value=f"p0-{i}".encode(), partition=0)
    producer.send(main_topic, value=b"in the new partition", partition=4)
    producer.flush(timeout=TIMEOUT_MS / 1000)
    producer.close()
    deleted = admin.delete_records({TopicPartition(main_topic, 0): 4})
    (info,) = deleted.values()
    low_watermark = info["low_watermark"]
    assert low_watermark == 4, deleted

    admin.create_topics({dropped: {"num_partitions": 1, "replication_factor": 1}})
    admin.delete_topics([dropped])
    refused(UnknownTopicOrPartitionError, admin.delete_topics, [f"{prefix}-never"])

    cluster = admin.describe_cluster()
    admin.close()
    print(json.dumps({
        "cluster_id": cluster["cluster_id"],
        "controller": cluster["controller_id"],
        "brokers": [b["broker_id"] for b in cluster["brokers"]],
        "low_watermark": low_watermark,
    }))


if __name__ == "__main__":
    main()
