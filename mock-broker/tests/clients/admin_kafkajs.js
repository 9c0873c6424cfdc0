// kafkajs's admin client against the mock broker: creates, describes, alters and deletes.
//
// Usage: node admin_kafkajs.js BOOTSTRAP PREFIX
// Every step asserts what Apache Kafka would answer; the last line printed is a JSON summary the Rust
// test (mock-broker/tests/admin_clients.rs) checks against the broker's own view. kafkajs has no
// IncrementalAlterConfigs, so unlike the Python scripts the overrides left are AlterConfigs' only.
'use strict'

const assert = require('assert')
const { ConfigResourceTypes, Kafka, logLevel } = require('kafkajs')

const CLIENT = 'kafkajs'
const TIMEOUT_MS = 60000

// The error type (Kafka's error name) `promise` fails with, or null if it succeeds. kafkajs wraps
// per-topic errors of CreateTopics in a KafkaJSAggregateError, whose `errors` carry the type, and a
// retriable error it gave up retrying in a KafkaJSNumberOfRetriesExceeded, whose `cause` is it.
async function errorOf(promise) {
  try {
    await promise
  } catch (caught) {
    let error = caught
    while (error.name === 'KafkaJSNumberOfRetriesExceeded' && error.cause) error = error.cause
    if (error.errors && error.errors.length) return error.errors[0].type
    return error.type || error.name
  }
  return null
}

async function describeTopic(admin, topic) {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  })
  const resource = described.resources[0]
  assert.strictEqual(resource.errorCode, 0, JSON.stringify(resource))
  return Object.fromEntries(resource.configEntries.map((entry) => [entry.configName, entry]))
}

async function main() {
  const [bootstrap, prefix] = process.argv.slice(2)
  if (!prefix) {
    console.error('usage: node admin_kafkajs.js BOOTSTRAP PREFIX')
    process.exit(2)
  }
  const kafka = new Kafka({
    clientId: 'admin-kafkajs',
    brokers: bootstrap.split(','),
    connectionTimeout: 10000,
    requestTimeout: TIMEOUT_MS,
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  await admin.connect()
  const main = `${prefix}-main`
  const dropped = `${prefix}-dropped`

  // CreateTopics: created, validateOnly, already there (false), bad replication factor, bad name.
  const created = await admin.createTopics({
    timeout: TIMEOUT_MS,
    topics: [{ topic: main, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  })
  assert.strictEqual(created, true, 'created')
  // Without waitForLeaders: kafkajs would wait for the leaders of a topic that is not created.
  const validated = await admin.createTopics({
    validateOnly: true,
    waitForLeaders: false,
    topics: [{ topic: `${prefix}-validated`, numPartitions: 2 }],
  })
  const again = await admin.createTopics({ topics: [{ topic: main, numPartitions: 3 }] })
  assert.strictEqual(again, false, 'an existing topic is not created again')
  assert.strictEqual(
    await errorOf(admin.createTopics({ topics: [{ topic: `${prefix}-rf`, numPartitions: 1, replicationFactor: 3 }] })),
    'INVALID_REPLICATION_FACTOR'
  )
  assert.strictEqual(
    await errorOf(admin.createTopics({ topics: [{ topic: `${prefix}-cfg`, configEntries: [{ name: 'no.such', value: '1' }] }] })),
    'INVALID_CONFIG'
  )

  // Metadata: three partitions, each led by the single broker.
  const metadata = await admin.fetchTopicMetadata({ topics: [main] })
  const partitions = metadata.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId)
  assert.deepStrictEqual(partitions.map((p) => p.partitionId), [0, 1, 2])
  assert.deepStrictEqual(partitions.map((p) => p.leader), [1, 1, 1])
  assert.deepStrictEqual(partitions[0].replicas, [1])

  // DescribeConfigs: Kafka's defaults, and the override made at creation.
  let configs = await describeTopic(admin, main)
  assert.strictEqual(configs['cleanup.policy'].configValue, 'delete')
  assert.strictEqual(configs['cleanup.policy'].isDefault, true)
  assert.strictEqual(configs['retention.ms'].configValue, '3600000')
  assert.strictEqual(configs['retention.ms'].isDefault, false)
  const broker = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['num.partitions'] }],
  })
  assert.strictEqual(broker.resources[0].configEntries[0].configValue, '1', JSON.stringify(broker))

  // AlterConfigs replaces every override.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: main,
        configEntries: [
          { name: 'retention.bytes', value: '100000' },
          { name: 'max.message.bytes', value: '200000' },
        ],
      },
    ],
  })
  configs = await describeTopic(admin, main)
  assert.strictEqual(configs['retention.bytes'].configValue, '100000')
  assert.strictEqual(configs['max.message.bytes'].configValue, '200000')
  assert.strictEqual(configs['retention.ms'].configValue, '604800000')
  assert.strictEqual(configs['retention.ms'].isDefault, true)
  assert.strictEqual(
    await errorOf(
      admin.alterConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: main, configEntries: [{ name: 'retention.ms', value: 'soon' }] }],
      })
    ),
    'INVALID_CONFIG'
  )

  // CreatePartitions: grows, refuses to shrink.
  await admin.createPartitions({ topicPartitions: [{ topic: main, count: 5 }] })
  assert.strictEqual(
    await errorOf(admin.createPartitions({ topicPartitions: [{ topic: main, count: 2 }] })),
    'INVALID_PARTITIONS'
  )

  // The new partition takes records; DeleteRecords moves partition 0's start.
  const producer = kafka.producer()
  await producer.connect()
  const values = Array.from({ length: 10 }, (_, i) => ({ value: `p0-${i}`, partition: 0 }))
  await producer.send({ topic: main, acks: -1, messages: values })
  await producer.send({ topic: main, acks: -1, messages: [{ value: 'in the new partition', partition: 4 }] })
  await producer.disconnect()
  await admin.deleteTopicRecords({ topic: main, partitions: [{ partition: 0, offset: '4' }] })
  const offsets = await admin.fetchTopicOffsets(main)
  const p0 = offsets.find((o) => o.partition === 0)
  assert.strictEqual(p0.high, '10', JSON.stringify(offsets))
  const lowWatermark = Number(p0.low)
  assert.strictEqual(lowWatermark, 4, JSON.stringify(offsets))

  // DeleteTopics.
  assert.strictEqual(await admin.createTopics({ topics: [{ topic: dropped }] }), true)
  await admin.deleteTopics({ topics: [dropped], timeout: TIMEOUT_MS })
  // UNKNOWN_TOPIC_OR_PARTITION is retriable: kafkajs would retry it for a while, so once only.
  const once = kafka.admin({ retry: { retries: 0 } })
  await once.connect()
  assert.strictEqual(
    await errorOf(once.deleteTopics({ topics: [`${prefix}-never`] })),
    'UNKNOWN_TOPIC_OR_PARTITION'
  )
  await once.disconnect()
  const listed = await admin.listTopics()
  assert.ok(listed.includes(main) && !listed.includes(dropped), JSON.stringify(listed))

  const cluster = await admin.describeCluster()
  await admin.disconnect()
  console.log(
    JSON.stringify({
      cluster_id: cluster.clusterId,
      controller: cluster.controller,
      brokers: cluster.brokers.map((b) => b.nodeId),
      low_watermark: lowWatermark,
      validate_only_created: validated,
    })
  )
}

main().catch((error) => {
  console.error(`${CLIENT}: ${error.stack || error}`)
  if (error.errors) console.error(JSON.stringify(error.errors))
  process.exit(1)
})
