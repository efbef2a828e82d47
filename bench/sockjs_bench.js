// SockJS transports against each other (issue 18): one subscriber per
// transport (sockjs-client from npm, as Meteor's browser client would use
// it) receives a live topic while a publisher writes 2000 documents at a
// time into it (HTTP publish), at most two batches ahead. Reports the
// messages per second the subscriber received, and the same over plain
// DDP-over-WebSocket (ddp.js) as the reference.
//
//   node bench/sockjs_bench.js build/bin/ddpd [rounds of 2000 documents, default 50]
//
// Needs tests/js's node_modules (make test-deps). The server runs with
// --durability none so that the commit is not what is measured, and no
// limit on a live result (each subscriber holds every document). Node's
// own cost per message is part of every figure alike.
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const mods = path.join(__dirname, '..', 'tests', 'js', 'node_modules');
const SockJS = require(path.join(mods, 'sockjs-client'));
const DDP = require(path.join(mods, 'ddp.js')).default;
const WS = require(path.join(mods, 'ws'));

const binary = process.argv[2];
const ROUNDS = Number(process.argv[3] || 50);
const BATCH = 2000;

function start() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddpd-sockjs-bench-'));
  return new Promise((resolve, reject) => {
    const p = spawn(binary, ['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir,
                             '--durability', 'none', '--log-level', 'info', '--threads', '1',
                             '--max-live-result', '1000000000'],
                    { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    p.stderr.on('data', (d) => {
      out += d;
      const m = /listening on [^ ]+:(\d+) /.exec(out);
      if (m) resolve({ p, port: Number(m[1]), dir });
    });
    p.on('exit', (c) => reject(new Error(`ddpd exited ${c}: ${out}`)));
  });
}

// A subscriber: `onMessage(text)` per DDP message; resolves when ready.
function subscriber(port, transport, topic, onAdded) {
  return new Promise((resolve) => {
    const handle = (m) => {
      if (m.msg === 'connected') send({ msg: 'sub', id: 's', name: topic, params: [] });
      else if (m.msg === 'ready') resolve(close);
      else if (m.msg === 'added') onAdded();
      else if (m.msg === 'ping') send({ msg: 'pong' });
    };
    let send;
    let close;
    if (transport === 'ddp-websocket') {
      const ws = new WS(`ws://127.0.0.1:${port}/websocket`);
      send = (m) => ws.send(JSON.stringify(m));
      close = () => ws.close();
      ws.on('message', (d) => handle(JSON.parse(String(d))));
      ws.on('open', () => send({ msg: 'connect', version: '1', support: ['1'] }));
    } else {
      const s = new SockJS(`http://127.0.0.1:${port}/sockjs`, null, { transports: [transport] });
      send = (m) => s.send(JSON.stringify(m));
      close = () => s.close();
      s.onmessage = (e) => handle(JSON.parse(e.data));
      s.onopen = () => send({ msg: 'connect', version: '1', support: ['1'] });
    }
  });
}

// Publishes ROUNDS batches of BATCH documents (HTTP publish, one after
// the other) and times from the first publish until the subscriber has
// every document: delivered messages per second through that transport.
async function measure(port, transport) {
  const topic = `bench.${transport.replace(/-/g, '_')}`;
  let received = 0;
  const stop = await subscriber(port, transport, topic, () => { received++; });
  const url = `http://127.0.0.1:${port}/api/v1/topics/${topic}/publish`;
  const payload = 'x'.repeat(100);
  let sent = 0;
  const publish = async () => {
    const docs = [];
    for (let i = 0; i < BATCH; i++) docs.push({ i: sent++, payload });
    const r = await fetch(url, { method: 'POST', body: JSON.stringify(docs),
                                 headers: { 'Content-Type': 'application/json' } });
    await r.text();
  };
  // Waits for the subscriber to have `n`; a stall of 10 s is an error.
  const until = async (n) => {
    let last = received;
    let since = Date.now();
    while (received < n) {
      await new Promise((r) => setTimeout(r, 1));
      if (received !== last) {
        last = received;
        since = Date.now();
      } else if (Date.now() - since > 10000) {
        throw new Error(`${transport}: stalled at ${received} of ${n} messages`);
      }
    }
  };
  await publish();  // warm-up
  await until(BATCH);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < ROUNDS; k++) {
    await publish();
    // At most two batches ahead of the subscriber.
    await until(sent - 2 * BATCH);
  }
  await until(sent);
  const rate = (sent - BATCH) / (Number(process.hrtime.bigint() - t0) / 1e9);
  stop();
  return rate;
}

(async () => {
  const { p, port, dir } = await start();
  const results = [];
  for (const t of ['ddp-websocket', 'websocket', 'xhr-streaming', 'xhr-polling']) {
    const rate = await measure(port, t);
    results.push([t, rate]);
    console.log(`${t.padEnd(14)} ${Math.round(rate).toString().padStart(8)} messages/s received`);
  }
  p.kill('SIGTERM');
  await new Promise((r) => p.on('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
  const ws = results.find(([t]) => t === 'websocket')[1];
  for (const [t, r] of results) console.log(`${t.padEnd(14)} ${(r / ws).toFixed(2)}x SockJS websocket`);
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
