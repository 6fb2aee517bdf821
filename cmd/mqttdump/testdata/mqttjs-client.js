// mqttjs-client.js drives one mqtt.js client for make-captures.sh: it
// subscribes to several filters in one SUBSCRIBE, publishes at QoS 0, 1 and 2
// (text, binary and empty payloads), idles long enough for a PINGREQ,
// unsubscribes and disconnects. Usage: node mqttjs-client.js URL LEVEL ID
const mqtt = require('mqtt');

const [url, level, id] = process.argv.slice(2);
const client = mqtt.connect(url, {
  protocolVersion: Number(level),
  protocolId: level === '3' ? 'MQIsdp' : 'MQTT',
  clientId: id,
  keepalive: 1,
  clean: true,
  username: 'js-user',
  password: 'js-secret',
  will: { topic: `clients/${id}/will`, payload: 'gone', qos: 2, retain: false },
  reconnectPeriod: 0,
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

client.on('error', (err) => {
  console.error(err);
  process.exit(1);
});

client.on('connect', async () => {
  await client.subscribeAsync({ 'js/+/temp': { qos: 0 }, 'js/#': { qos: 1 }, 'js/bin': { qos: 2 } });
  await client.publishAsync('js/room1/temp', '19.5', { qos: 0 });
  await client.publishAsync('js/room2/temp', 'twenty, one', { qos: 1, retain: true });
  await client.publishAsync('js/bin', Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]), { qos: 2 });
  await client.publishAsync('js/empty', '', { qos: 1 });
  await sleep(2500); // keep-alive 1 s: the client sends PINGREQ
  await client.unsubscribeAsync(['js/+/temp', 'js/bin']);
  await client.publishAsync('js/room2/temp', '', { qos: 1, retain: true }); // clears the retained message
  await sleep(200);
  await client.endAsync();
});
