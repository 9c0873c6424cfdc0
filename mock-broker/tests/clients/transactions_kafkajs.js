// A kafkajs transactional producer against the broker, and what kafkajs readers see.
//
// Usage: node transactions_kafkajs.js BOOTSTRAP TOPIC OUT_TOPIC GROUP FENCED_TOPIC
// The producer is kafka.producer({ idempotent: true, transactionalId, maxInFlightRequests: 1 }).
// On TOPIC (2 partitions): commits c0 (p0), c1 (p1); aborts a0, a1; commits c2, c3. Then reads TOPIC
// from the start with readUncommitted false (read_committed) and true (read_uncommitted). Then
// consume-transform-produce: a member of GROUP reads TOPIC (read_committed), and a transaction writes
// the values to OUT_TOPIC with transaction.sendOffsets: aborted first, then again and committed; the
// group's committed offsets are fetched (admin.fetchOffsets) after each. Last, fencing on
// FENCED_TOPIC: a first producer sends "from-first" in an open transaction, a second producer with
// the same transactionalId starts a transaction (its InitProducerId bumps the epoch), the first's
// commit must fail, the second commits "from-second".
// Prints one JSON object: {"read_committed": [...], "read_uncommitted": [...], "positions": {p: o},
// "committed_after_abort": {p: o}, "committed_after_commit": {p: o}, "fenced_error": {"name",
// "type"}}. Gives up (exit 1) after 60 s per step.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const CLIENT = 'kafkajs'
const TIMEOUT_MS = 60000

function fail(message) {
  console.error(`transactions_kafkajs.js: ${message}`)
  process.exit(1)
}

function kafkaFor(bootstrap) {
  return new Kafka({
    clientId: 'txn-kafkajs',
    brokers: bootstrap.split(','),
    connectionTimeout: 10000,
    requestTimeout: TIMEOUT_MS,
    logLevel: logLevel.WARN,
    // kafkajs logs to stdout by default; stdout is for the JSON summary.
    logCreator: () => ({ namespace, log }) => {
      const { message, ...extra } = log
      console.error(`${CLIENT} [${namespace}] ${message} ${JSON.stringify(extra)}`)
    },
  })
}

async function transactionalProducer(kafka, transactionalId) {
  const producer = kafka.producer({ idempotent: true, transactionalId, maxInFlightRequests: 1 })
  await producer.connect()
  return producer
}

// One transaction sending each [partition, value] (value also the key), committed or aborted.
async function transaction(producer, topic, records, commit) {
  const txn = await producer.transaction()
  for (const [partition, value] of records) {
    await txn.send({ topic, acks: -1, messages: [{ key: value, value, partition }] })
  }
  if (commit) await txn.commit()
  else await txn.abort()
}

// Runs a consumer of `topic` (a member of `groupId`) from the start until `until(values)` holds;
// returns the values and, per partition, the offset after the last one read. The consumer is
// returned still running when `keep` is set.
async function readUntil(kafka, topic, groupId, readUncommitted, until, keep) {
  const consumer = kafka.consumer({
    groupId,
    readUncommitted,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
  })
  const values = []
  const positions = {}
  let done
  const finished = new Promise((resolve) => {
    done = resolve
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      values.push(message.value.toString())
      positions[String(partition)] = Number(message.offset) + 1
      if (until(values)) done()
    },
  })
  const timer = setTimeout(() => done(), TIMEOUT_MS)
  await finished
  clearTimeout(timer)
  if (!until(values)) fail(`${groupId} (readUncommitted ${readUncommitted}): gave up, read ${JSON.stringify(values)}`)
  if (!keep) await consumer.disconnect()
  return { consumer, values, positions }
}

async function committed(admin, groupId, topic) {
  const fetched = await admin.fetchOffsets({ groupId, topics: [topic] })
  const result = {}
  for (const { partition, offset } of fetched[0].partitions) {
    if (Number(offset) >= 0) result[String(partition)] = Number(offset)
  }
  return result
}

async function main() {
  const [bootstrap, topic, outTopic, group, fencedTopic] = process.argv.slice(2)
  if (!fencedTopic) {
    console.error('usage: node transactions_kafkajs.js BOOTSTRAP TOPIC OUT_TOPIC GROUP FENCED_TOPIC')
    process.exit(2)
  }
  const kafka = kafkaFor(bootstrap)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: outTopic, numPartitions: 1 }] })

  const producer = await transactionalProducer(kafka, 'txn-kafkajs')
  await transaction(producer, topic, [[0, 'c0'], [1, 'c1']], true)
  await transaction(producer, topic, [[0, 'a0'], [1, 'a1']], false)
  await transaction(producer, topic, [[0, 'c2'], [1, 'c3']], true)

  const result = {}
  const has = (values, ...wanted) => wanted.every((w) => values.includes(w))
  result.read_committed = (
    await readUntil(kafka, topic, 'txn-kafkajs-committed', false, (v) => has(v, 'c2', 'c3'), false)
  ).values
  result.read_uncommitted = (
    await readUntil(kafka, topic, 'txn-kafkajs-uncommitted', true, (v) => v.length >= 6, false)
  ).values

  // Consume-transform-produce: the member stays in the group while its offsets are sent.
  const member = await readUntil(kafka, topic, group, false, (v) => has(v, 'c0', 'c1', 'c2', 'c3'), true)
  result.positions = member.positions
  const offsets = {
    consumerGroupId: group,
    topics: [
      {
        topic,
        partitions: Object.entries(member.positions).map(([partition, offset]) => ({
          partition: Number(partition),
          offset: String(offset),
        })),
      },
    ],
  }
  for (const commit of [false, true]) {
    const txn = await producer.transaction()
    for (const value of member.values) {
      await txn.send({ topic: outTopic, acks: -1, messages: [{ value: `out-${value}`, partition: 0 }] })
    }
    await txn.sendOffsets(offsets)
    if (commit) {
      await txn.commit()
      result.committed_after_commit = await committed(admin, group, topic)
    } else {
      await txn.abort()
      result.committed_after_abort = await committed(admin, group, topic)
    }
  }
  await member.consumer.disconnect()
  await producer.disconnect()

  // Fencing: the second producer's InitProducerId bumps the epoch; the first's commit must fail.
  const first = await transactionalProducer(kafka, 'txn-kafkajs-fenced')
  const open = await first.transaction()
  await open.send({ topic: fencedTopic, acks: -1, messages: [{ value: 'from-first', partition: 0 }] })
  // kafkajs sends InitProducerId with the first transaction(), not on connect().
  const second = await transactionalProducer(kafka, 'txn-kafkajs-fenced')
  const next = await second.transaction()
  try {
    await open.commit()
    fail('the fenced producer committed')
  } catch (error) {
    result.fenced_error = { name: error.name, type: error.type || null, message: error.message }
  }
  await next.send({ topic: fencedTopic, acks: -1, messages: [{ value: 'from-second', partition: 0 }] })
  await next.commit()
  await second.disconnect()
  await first.disconnect().catch(() => {})
  await admin.disconnect()
  console.log(JSON.stringify(result))
  process.exit(0)
}

main().catch((error) => {
  console.error(`transactions_kafkajs.js: ${error.stack || error}`)
  process.exit(1)
})
