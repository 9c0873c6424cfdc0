// Produces COUNT messages with kafkajs in one send() (batched per partition, as kafkajs does).
//
// Usage: node produce_kafkajs.js BOOTSTRAP TOPIC COUNT [name=value ...] [--deliveries FILE]
// Options: idempotent=true|false, acks=-1|0|1, compression=none|gzip, maxInFlightRequests=N.
// Message i is key "k{i}", value "v{i}-" + PADDING, headers idx={i} and client=kafkajs: keep in
// step with common.py and with `sent_messages` in mock-broker/tests/real_clients.rs.
'use strict'

const fs = require('fs')
const { CompressionTypes, Kafka, logLevel, Partitioners } = require('kafkajs')

const CLIENT = 'kafkajs'
const PADDING = 'payload-'.repeat(12)
// Give up well before the test harness kills the process (120 s).
const TIMEOUT_MS = 60000

function usage(problem) {
  console.error(`produce_kafkajs.js: ${problem}`)
  console.error('usage: node produce_kafkajs.js BOOTSTRAP TOPIC COUNT [name=value ...] [--deliveries FILE]')
  process.exit(2)
}

function parseArgs(argv) {
  const positional = []
  const options = {}
  let deliveries = null
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--deliveries') {
      deliveries = argv[++i]
      if (!deliveries) usage('--deliveries needs a FILE')
    } else if (positional.length < 3) {
      positional.push(argv[i])
    } else {
      const eq = argv[i].indexOf('=')
      if (eq < 0) usage(`option ${JSON.stringify(argv[i])} is not name=value`)
      options[argv[i].slice(0, eq)] = argv[i].slice(eq + 1)
    }
  }
  if (positional.length < 3) usage('BOOTSTRAP, TOPIC and COUNT are required')
  const count = Number(positional[2])
  if (!Number.isInteger(count) || count < 0) usage(`COUNT ${JSON.stringify(positional[2])} is not a number`)
  return { bootstrap: positional[0], topic: positional[1], count, options, deliveries }
}

function producerSettings(options) {
  const producer = { allowAutoTopicCreation: true }
  const send = { acks: -1, timeout: TIMEOUT_MS }
  for (const [name, value] of Object.entries(options)) {
    switch (name) {
      case 'idempotent':
        producer.idempotent = value === 'true'
        break
      case 'maxInFlightRequests':
        producer.maxInFlightRequests = Number(value)
        break
      case 'acks':
        send.acks = Number(value)
        break
      case 'compression': {
        const type = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }[value]
        if (type === undefined) usage(`compression ${JSON.stringify(value)}: kafkajs has none and gzip built in`)
        send.compression = type
        break
      }
      default:
        usage(`unknown option ${JSON.stringify(name)}`)
    }
  }
  return { producer, send }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const settings = producerSettings(args.options)
  const kafka = new Kafka({
    clientId: 'real-clients-kafkajs',
    brokers: args.bootstrap.split(','),
    connectionTimeout: 10000,
    requestTimeout: TIMEOUT_MS,
    logLevel: logLevel.WARN,
    // kafkajs logs to stdout by default; stdout is for the summary line.
    logCreator: () => ({ namespace, level, log }) => {
      const { message, ...extra } = log
      console.error(`${CLIENT} [${namespace}] ${message} ${JSON.stringify(extra)}`)
    },
  })
  // The partition kafkajs chose for each key, to turn per-partition base offsets into offsets.
  const chosen = new Map()
  const producer = kafka.producer({
    ...settings.producer,
    createPartitioner: () => {
      const partitioner = Partitioners.DefaultPartitioner()
      return args => {
        const partition = partitioner(args)
        chosen.set(args.message.key, partition)
        return partition
      }
    },
  })

  const messages = []
  for (let i = 0; i < args.count; i++) {
    messages.push({
      key: `k${i}`,
      value: `v${i}-${PADDING}`,
      headers: { idx: String(i), client: CLIENT },
    })
  }

  const started = process.hrtime.bigint()
  await producer.connect()
  const results = await producer.send({ topic: args.topic, messages, ...settings.send })
  await producer.disconnect()

  const baseOffsets = new Map(results.map(r => [r.partition, BigInt(r.baseOffset)]))
  const errors = results.filter(r => r.errorCode !== 0).map(r => `partition ${r.partition}: error code ${r.errorCode}`)
  const deliveries = {}
  const perPartition = new Map()
  for (const { key } of messages) {
    const partition = chosen.get(key)
    const index = perPartition.get(partition) || 0
    perPartition.set(partition, index + 1)
    if (!baseOffsets.has(partition)) {
      errors.push(`${key}: no produce response for partition ${partition}`)
      continue
    }
    deliveries[key] = [partition, Number(baseOffsets.get(partition) + BigInt(index))]
  }
  if (args.deliveries) fs.writeFileSync(args.deliveries, JSON.stringify(deliveries))

  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const version = require('kafkajs/package.json').version
  const spread = [...perPartition.entries()].sort((a, b) => a[0] - b[0]).map(([p, n]) => `${p}: ${n}`).join(', ')
  const delivered = Object.keys(deliveries).length
  console.log(
    `${CLIENT} ${version}: ${delivered} of ${args.count} messages delivered to ${args.topic} ` +
      `in ${seconds.toFixed(2)} s, per partition {${spread}}, ${errors.length} errors`
  )
  for (const error of errors.slice(0, 10)) console.error(`${CLIENT}: ${error}`)
  process.exit(errors.length || delivered !== args.count ? 1 : 0)
}

main().catch(error => {
  console.error(`${CLIENT}: ${error.stack || error}`)
  process.exit(1)
})
