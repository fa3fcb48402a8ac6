// sr_avro.js BROKER REGISTRY_URL
//
// Driven by internal/e2e/schema_kafkajs_test.go against `samsa server` with
// its built-in Schema Registry and REST Proxy. Registers an Avro schema with
// @kafkajs/confluent-schema-registry, encodes values with it, produces them
// with kafkajs to the topic js-users, consumes them back with a kafkajs
// consumer group and decodes them; decodes the records the Go test produced
// to go-orders with franz-go's sr.Serde and to rest-visits through the REST
// Proxy (v2 and v3, Avro keys and values); and tries to encode a value the
// schema does not admit. Every step prints one JSON object on stdout; kafkajs
// logs go to stderr.
'use strict'

const { Kafka, logLevel } = require('kafkajs')
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry')

const [broker, registryURL] = process.argv.slice(2)
if (!broker || !registryURL) {
  console.error('usage: node sr_avro.js BROKER REGISTRY_URL')
  process.exit(2)
}

const userSchema = JSON.stringify({
  type: 'record',
  name: 'User',
  namespace: 'e2e.js',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'role', type: { type: 'enum', name: 'Role', symbols: ['ADMIN', 'MEMBER', 'GUEST'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'score', type: 'double' },
    { name: 'active', type: 'boolean' },
  ],
})

// The values the Go test expects back, in order, with keys u0, u1, u2.
const users = [
  { id: 1, name: 'Ada', email: 'ada@example.com', role: 'ADMIN', tags: ['a', 'b'], score: 9.5, active: true },
  { id: -42, name: 'Zoë ζ', email: null, role: 'GUEST', tags: [], score: -0.25, active: false },
  { id: 1234567890123456, name: '', email: '', role: 'MEMBER', tags: ['only'], score: 0, active: true },
]

const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')

// kafkajs logs JSON lines through console by default; keep stdout for the
// test's lines.
const toStderr = () => ({ namespace, level, label, log }) =>
  process.stderr.write(`${label} [${namespace}] ${JSON.stringify(log)}\n`)

const errorOf = e => ({
  name: e.name,
  message: e.message,
  ...(e.paths ? { paths: e.paths } : {}),
  ...(e.status ? { status: e.status, url: e.url } : {}),
})

// wireID reads the schema id of a Confluent wire-format value (magic 0,
// then a big-endian int32).
const wireID = buf => (buf.length >= 5 && buf[0] === 0 ? buf.readInt32BE(1) : null)

async function main() {
  const registry = new SchemaRegistry({ host: registryURL })
  const kafka = new Kafka({
    clientId: 'samsa-e2e-kafkajs',
    brokers: [broker],
    logLevel: logLevel.WARN,
    logCreator: toStderr,
    retry: { retries: 3 },
  })

  const { id } = await registry.register({ type: SchemaType.AVRO, schema: userSchema })
  out({ step: 'register', id })
  // The same schema again (with different whitespace) is the same id.
  const again = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(JSON.parse(userSchema), null, 2) })
  out({ step: 'register-again', id: again.id })
  for (const subject of ['e2e.js.User', 'go-orders-value']) {
    out({ step: 'latest', subject, id: await registry.getLatestSchemaId(subject) })
  }

  const messages = []
  for (const [i, u] of users.entries()) {
    messages.push({ key: `u${i}`, value: await registry.encode(id, u) })
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const acks = await producer.send({ topic: 'js-users', acks: -1, messages })
  await producer.disconnect()
  for (const a of acks) {
    out({ step: 'produced', topic: a.topicName, partition: a.partition, errorCode: a.errorCode, baseOffset: a.baseOffset })
  }

  // Read the topics to their known counts with one consumer group: the Go
  // test wrote two records to go-orders and four to rest-visits.
  const want = { 'js-users': users.length, 'go-orders': 2, 'rest-visits': 4 }
  const seen = { 'js-users': 0, 'go-orders': 0, 'rest-visits': 0 }
  const consumer = kafka.consumer({ groupId: 'samsa-e2e-kafkajs', maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: Object.keys(want), fromBeginning: true })
  const consumed = []
  await new Promise((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ topic, partition, message }) => {
          // A key in the wire format (the REST Proxy's Avro keys) is
          // decoded too; others are strings.
          const keyId = message.key ? wireID(message.key) : null
          consumed.push({
            step: 'consumed',
            topic,
            partition,
            offset: message.offset,
            key: keyId === null ? message.key && message.key.toString() : await registry.decode(message.key),
            keyId,
            id: wireID(message.value),
            value: await registry.decode(message.value),
          })
          seen[topic]++
          if (Object.keys(want).every(t => seen[t] >= want[t])) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  // One consumer runs the partitions concurrently: print in a fixed order.
  consumed.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(a.offset) - Number(b.offset))
  consumed.forEach(out)

  // A value the schema does not admit: the client refuses to encode it.
  try {
    const buf = await registry.encode(id, { ...users[0], id: 'one', role: 'OWNER' })
    out({ step: 'invalid', encoded: buf.toString('hex') })
  } catch (e) {
    out({ step: 'invalid', error: errorOf(e) })
  }
  // An id the registry does not have.
  try {
    await registry.encode(999, users[0])
    out({ step: 'unknown-id' })
  } catch (e) {
    out({ step: 'unknown-id', error: errorOf(e) })
  }
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
