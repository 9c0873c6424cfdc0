// Produces COUNT messages over a secured listener with kafkajs, then reads them back.
//
// Usage: node secure_kafkajs.js BOOTSTRAP TOPIC COUNT [name=value ...]
// Options: ca=FILE (TLS, trusting that CA), mechanism=plain|scram-sha-256|scram-sha-512,
// username=NAME, password=PASSWORD. Message i has value "v{i}". Prints {"consumed": ["v0", ...]}
// on success; exits 1 naming the error otherwise (an authentication error at once).
'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

// Give up well before the test harness kills the process (120 s).
const TIMEOUT_MS = 60000

function fail(message) {
  console.error(`secure_kafkajs.js: ${message}`)
  process.exit(1)
}

function parseArgs(argv) {
  if (argv.length < 3) fail('usage: node secure_kafkajs.js BOOTSTRAP TOPIC COUNT [name=value ...]')
  const options = {}
  for (const option of argv.slice(3)) {
    const eq = option.indexOf('=')
    if (eq < 0) fail(`option ${JSON.stringify(option)} is not name=value`)
    options[option.slice(0, eq)] = option.slice(eq + 1)
  }
  const count = Number(argv[2])
  if (!Number.isInteger(count) || count < 1) fail(`COUNT ${JSON.stringify(argv[2])} is not a number`)
  return { bootstrap: argv[0], topic: argv[1], count, options }
}

function security(options) {
  const settings = {}
  for (const [name, value] of Object.entries(options)) {
    if (!['ca', 'mechanism', 'username', 'password'].includes(name)) fail(`unknown option ${JSON.stringify(name)}`)
  }
  if (options.ca) settings.ssl = { ca: [fs.readFileSync(options.ca, 'utf-8')] }
  if (options.mechanism) {
    settings.sasl = { mechanism: options.mechanism, username: options.username, password: options.password }
  }
  return settings
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const kafka = new Kafka({
    clientId: 'secure-kafkajs',
    brokers: args.bootstrap.split(','),
    connectionTimeout: 10000,
    requestTimeout: TIMEOUT_MS,
    logLevel: logLevel.NOTHING,
    // An authentication error is final: no retries.
    retry: { retries: 0 },
    ...security(args.options),
  })
  const timer = setTimeout(() => fail(`not done in ${TIMEOUT_MS} ms`), TIMEOUT_MS)
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  await producer.send({
    topic: args.topic,
    acks: -1,
    messages: Array.from({ length: args.count }, (_, i) => ({ value: `v${i}` })),
  })
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: `secure-kafkajs-${args.topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  const consumed = []
  await new Promise((resolve, reject) => {
    consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error))
    consumer
      .run({
        eachMessage: async ({ message }) => {
          consumed.push(message.value.toString())
          if (consumed.length === args.count) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  clearTimeout(timer)
  console.log(JSON.stringify({ consumed }))
}

main().catch((error) => fail(`${error.name}: ${error.message}`))
