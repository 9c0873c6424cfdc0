// Reads COUNT messages of TOPIC as a kafkajs group member (consumer.subscribe, run({eachMessage})),
// commits what it read with commitOffsets, disconnects (leaving the group), and prints what it read.
//
// Usage: node consume_group_kafkajs.js BOOTSTRAP TOPIC GROUP COUNT
// Prints one JSON line: [[partition, offset, key], ...]. Messages past COUNT are not taken (nor
// committed): within each partition what is read is a prefix, so the commit is its end + 1.
// Gives up (exit 1) after 60 s.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const TIMEOUT_MS = 60000

async function main() {
  const [bootstrap, topic, group, countText] = process.argv.slice(2)
  const count = Number(countText)
  if (!bootstrap || !topic || !group || !Number.isInteger(count)) {
    console.error('usage: node consume_group_kafkajs.js BOOTSTRAP TOPIC GROUP COUNT')
    process.exit(2)
  }
  const kafka = new Kafka({
    clientId: 'groups-kafkajs',
    brokers: bootstrap.split(','),
    logLevel: logLevel.WARN,
  })
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    // The smallest wait when a fetch finds nothing, so that the test is not slowed down.
    maxWaitTimeInMs: 100,
  })
  const read = []
  // The next offset to commit, per partition.
  const next = new Map()
  let done
  const finished = new Promise((resolve) => {
    done = resolve
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (read.length >= count) return
      const offset = Number(message.offset)
      read.push([partition, offset, message.key.toString()])
      next.set(partition, offset + 1)
      if (read.length === count) done()
    },
  })
  const timer = setTimeout(() => done(), TIMEOUT_MS)
  await finished
  clearTimeout(timer)
  if (read.length === count) {
    const offsets = [...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) }))
    await consumer.commitOffsets(offsets)
  }
  await consumer.disconnect()
  console.log(JSON.stringify(read))
  if (read.length !== count) {
    console.error(`read ${read.length} of ${count} within ${TIMEOUT_MS / 1000} s`)
    process.exit(1)
  }
}

main().catch((error) => {
  console.error(`consume_group_kafkajs.js: ${error.stack || error}`)
  process.exit(1)
})
