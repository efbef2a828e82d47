// The DDP client side of tests/docker/image_test.sh: a real ddp.js client
// against ddpd running in a container.
//
//   node docker_client.js ready <port> [timeout ms]   waits for /readyz 200, prints the ms
//   node docker_client.js write <port> <topic> <n>    inserts n documents, each acknowledged
//   node docker_client.js read  <port> <topic> <n>    subscribes; exactly those n must be there
//   node docker_client.js wait  <port> <topic> <n>    as read, but they may arrive after `ready`
//                                                     (another cluster node's writes)
'use strict';
const assert = require('assert');
const DDP = require('ddp.js').default;
const WS = require('ws');
const { waitFor } = require('./harness');

async function ready(port, timeoutMs) {
  const start = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) {
        console.log(Date.now() - start);
        return;
      }
    } catch (e) { /* not listening yet */ }
    if (Date.now() - start > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function connect(port) {
  const d = new DDP({ endpoint: `ws://127.0.0.1:${port}/websocket`, SocketConstructor: WS,
                      autoReconnect: false });
  let connected = false;
  d.on('connected', () => { connected = true; });
  // A cluster node that just became ready may take a while longer (its
  // JetStream consumer): a deadline against hangs, not a timing check.
  await waitFor(() => connected, 'connected', 60000);
  return d;
}

async function write(port, topic, n) {
  const d = await connect(port);
  const results = {};
  d.on('result', (m) => { results[m.id] = m; });
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(d.method(`/${topic}/insert`, [{ _id: `doc${i}`, i, text: `written ${i}` }]));
  await waitFor(() => ids.every((id) => results[id]), 'the acknowledgements', 10000);
  for (const id of ids) assert.ok(!results[id].error, JSON.stringify(results[id].error));
  console.log(`wrote ${n}`);
  d.disconnect();
}

async function read(port, topic, n, waitMs = 0) {
  const d = await connect(port);
  const docs = new Map();
  d.on('added', (m) => { if (m.collection === topic) docs.set(m.id, m.fields); });
  d.on('changed', (m) => {
    if (m.collection === topic && docs.has(m.id)) Object.assign(docs.get(m.id), m.fields);
  });
  let ready = false;
  d.on('ready', () => { ready = true; });
  d.sub(topic, []);
  await waitFor(() => ready, 'ready', 10000);
  if (waitMs > 0) await waitFor(() => docs.size >= n, `${n} documents`, waitMs);
  assert.strictEqual(docs.size, n, `${docs.size} documents, expected ${n}`);
  for (let i = 0; i < n; i++) {
    const f = docs.get(`doc${i}`);
    assert.ok(f, `doc${i} is there`);
    assert.strictEqual(f.i, i);
    assert.strictEqual(f.text, `written ${i}`);
  }
  console.log(`read ${n}`);
  d.disconnect();
}

const [cmd, port, a, b] = process.argv.slice(2);
const run = { ready: () => ready(Number(port), Number(a || 60000)),
              write: () => write(Number(port), a, Number(b)),
              read: () => read(Number(port), a, Number(b)),
              wait: () => read(Number(port), a, Number(b), 30000) }[cmd];
if (!run) {
  console.error('usage: docker_client.js ready|write|read <port> ...');
  process.exit(2);
}
run().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
