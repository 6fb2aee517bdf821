// script.js drives the mqttwire reference broker with mqtt.js, a real MQTT
// client. The Go test TestMQTTJS runs it as: node script.js mqtt://127.0.0.1:PORT
// The broker must deny subscriptions to test/nosubscribe. The script exits 0
// when every check passes and 1 with the reason otherwise.
'use strict'

const mqtt = require('mqtt')
const assert = require('node:assert/strict')

const url = process.argv[2]
if (!url) {
  console.error('usage: node script.js mqtt://127.0.0.1:PORT')
  process.exit(2)
}

// Give up if the broker hangs.
setTimeout(() => {
  console.error('mqtt.js interop: timed out')
  process.exit(1)
}, 60000).unref()

// connect resolves with the client, its CONNACK, and a promise of the first
// message, which may come in the same read as the CONNACK.
function connect (opts) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 20000, ...opts })
    const first = nextMessage(client)
    client.once('connect', (connack) => resolve({ client, connack, first }))
    client.once('error', reject)
  })
}

// nextMessage resolves with the next message the client receives.
function nextMessage (client) {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), packet }))
  })
}

async function main () {
  let checks = 0
  const check = (name) => { checks++; console.log('ok', checks, name) }

  // QoS 0, 1 and 2 in both directions, MQTT 3.1.1.
  const { client: sub } = await connect({ clientId: 'js-sub', protocolVersion: 4 })
  const granted = await sub.subscribeAsync('js/#', { qos: 2 })
  assert.equal(granted[0].qos, 2)
  const { client: pub } = await connect({ clientId: 'js-pub', protocolVersion: 4 })
  for (const qos of [0, 1, 2]) {
    const got = nextMessage(sub)
    await pub.publishAsync('js/' + qos, 'payload ' + qos, { qos })
    const m = await got
    assert.equal(m.topic, 'js/' + qos)
    assert.equal(m.payload, 'payload ' + qos)
    assert.equal(m.packet.qos, qos)
    assert.equal(m.packet.retain, false)
  }
  check('QoS 0, 1 and 2 delivered at their QoS')

  // A payload of 100 KB.
  const big = 'x'.repeat(100 * 1024)
  let got = nextMessage(sub)
  await pub.publishAsync('js/big', big, { qos: 1 })
  assert.equal((await got).payload.length, big.length)
  check('100 KB payload')

  // Retained messages reach a new subscriber with RETAIN set.
  await pub.publishAsync('retained/js', 'kept', { qos: 1, retain: true })
  const { client: late } = await connect({ clientId: 'js-late' })
  got = nextMessage(late)
  await late.subscribeAsync('retained/#', { qos: 1 })
  const r = await got
  assert.equal(r.payload, 'kept')
  assert.equal(r.packet.retain, true)
  await pub.publishAsync('retained/js', '', { qos: 1, retain: true }) // clears it
  await late.endAsync()
  check('retained message')

  // A refused subscription is answered with 0x80.
  await assert.rejects(sub.subscribeAsync('test/nosubscribe', { qos: 1 }), (err) => err.packet?.granted?.[0] === 0x80)
  check('SUBACK 0x80 for a denied filter')

  // The will is published when a client vanishes.
  const { client: doomed } = await connect({ clientId: 'js-doomed', will: { topic: 'js/will', payload: 'bye', qos: 1, retain: false } })
  got = nextMessage(sub)
  doomed.stream.destroy()
  const w = await got
  assert.equal(w.topic, 'js/will')
  assert.equal(w.payload, 'bye')
  doomed.end(true)
  check('will on an unclean close')

  // A persistent session keeps subscriptions and QoS 1 messages offline.
  let { client: p, connack } = await connect({ clientId: 'js-persist', clean: false })
  await p.subscribeAsync('persist/js', { qos: 1 })
  await p.endAsync()
  await pub.publishAsync('persist/js', 'while away', { qos: 1 })
  let first
  ;({ client: p, connack, first } = await connect({ clientId: 'js-persist', clean: false }))
  assert.equal(connack.sessionPresent, true)
  const queued = await first
  assert.equal(queued.payload, 'while away')
  await p.endAsync()
  check('persistent session')

  // MQTT 3.1 ("MQIsdp", level 3).
  const { client: old } = await connect({ clientId: 'js-v31', protocolId: 'MQIsdp', protocolVersion: 3 })
  await old.subscribeAsync('v31/js', { qos: 1 })
  got = nextMessage(old)
  await pub.publishAsync('v31/js', 'old protocol', { qos: 1 })
  assert.equal((await got).payload, 'old protocol')
  await old.endAsync()
  check('MQTT 3.1 client')

  await sub.endAsync()
  await pub.endAsync()
  console.log(`mqtt.js interop: all ${checks} checks passed`)
}

main().then(() => process.exit(0), (err) => {
  console.error('mqtt.js interop failed:', err)
  process.exit(1)
})
