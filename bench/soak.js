// Soak: a mixed workload against a real ddpd for a given time, then every
// subscriber's final state is checked against a fresh `query` of its own
// query. Writers insert, update and remove; live queries of every kind
// (filter, projection, sort/limit, $group, $window, $lookup, $partition)
// are held by steady subscribers, by reconnecting ones (a new connection
// every 5-15 s) and by slow consumers (which stop reading for seconds and
// may be cut off by the server, then come back). Every second the server's
// RSS and CPU, the write latency and the delivery latency are sampled to a
// CSV; gnuplot draws them (PNG). Exits 1 when a final state differs.
//
//   node bench/soak.js build/bin/ddpd [--seconds 600] [--out bench/results/soak]
//
// Writes <out>.csv, <out>.png and <out>.txt (the summary).
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawn, execFileSync } = require('child_process');
const WebSocket = require(require.resolve('ws', { paths: [path.join(__dirname, '../tests/js')] }));

const args = process.argv.slice(2);
const binary = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SECONDS = Number(opt('seconds', 600));
const OUT = opt('out', path.join(__dirname, 'results', 'soak'));
const TOPIC = (kind) => (kind === 'window' ? 'soak.events' : 'soak.orders');
const SYMS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const USERS = 50;

const QUERIES = {
  filter: { filter: { sym: { $in: ['A', 'B'] }, qty: { $gt: 50 } } },
  projection: { fields: { sym: 1, qty: 1 } },
  sortlimit: { sort: { px: -1 }, limit: 20 },
  group: { pipeline: [{ $group: { _id: '$sym', total: { $sum: '$qty' }, n: { $sum: 1 }, hi: { $max: '$px' } } }] },
  // Windows are over an insert-only event stream: a closed window is frozen
  // (query/live/window_op.cc), so updates moving documents out of closed
  // windows would rightly differ from a query over the current documents.
  window: { pipeline: [{ $window: { on: 'ts', tumbling: 5000 } }, { $group: { _id: '$sym', n: { $sum: 1 } } }] },
  join: { filter: { sym: 'C' }, pipeline: [{ $lookup: { from: 'soak.users', localField: 'owner', foreignField: '_id', as: 'user' } }] },
  partition: { pipeline: [{ $partition: { by: '_id', count: 4, index: 1 } }] },
};

function startServer() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddpd-soak-'));
  return new Promise((resolve, reject) => {
    // The event stream keeps its newest 20,000 documents, so that memory
    // can level off (removals retract from windows live and in queries).
    const proc = spawn(binary, ['--port', '0', '--bind', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info',
                                '--topic-retention', 'soak.events:max_docs=20000'],
                       { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onOut = (d) => {
      out += d;
      const m = /listening on [0-9.]+:(\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), dataDir });
    };
    proc.stdout.on('data', onOut);
    proc.stderr.on('data', onOut);
    proc.on('exit', (c) => reject(new Error('ddpd exited ' + c + ': ' + out)));
  });
}

// A minimal DDP client over `ws` that keeps the documents of its one
// subscription (collection -> id -> fields).
class Ddp {
  constructor(port, { onData } = {}) {
    this.port = port;
    this.calls = new Map();
    this.nextId = 1;
    this.docs = new Map();
    this.ready = false;
    this.onData = onData;
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`, { perMessageDeflate: false });
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', () => this.send({ msg: 'connect', version: '1', support: ['1'] }));
      this.ws.on('error', reject);
      this.resolveConnected = resolve;
    });
    this.closed = new Promise((r) => this.ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    this.ws.on('message', (data) => this.onMessage(JSON.parse(data)));
  }

  send(m) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m)); }

  onMessage(m) {
    switch (m.msg) {
      case 'connected': this.resolveConnected(); break;
      case 'ping': this.send(m.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: m.id }); break;
      case 'result': {
        const c = this.calls.get(m.id);
        if (c) { this.calls.delete(m.id); m.error ? c.reject(m.error) : c.resolve(m.result); }
        break;
      }
      case 'ready': if (this.onReady) this.onReady(); this.ready = true; break;
      case 'nosub': console.error('nosub', JSON.stringify(m)); break;
      case 'added': {
        const coll = this.coll(m.collection);
        coll.set(m.id, { ...(m.fields || {}) });
        if (this.onData) this.onData(m);
        break;
      }
      case 'changed': {
        const doc = this.coll(m.collection).get(m.id);
        if (!doc) { this.broken = `changed for unknown ${m.id}`; break; }
        Object.assign(doc, m.fields || {});
        for (const f of m.cleared || []) delete doc[f];
        break;
      }
      case 'removed':
        if (!this.coll(m.collection).delete(m.id)) this.broken = `removed unknown ${m.id}`;
        break;
      default: break;
    }
  }

  coll(name) {
    if (!this.docs.has(name)) this.docs.set(name, new Map());
    return this.docs.get(name);
  }

  call(method, params) {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.send({ msg: 'method', id, method, params });
    });
  }

  subscribe(name, query) {
    return new Promise((resolve) => {
      this.onReady = resolve;
      this.send({ msg: 'sub', id: 's', name, params: [query] });
    });
  }

  close() { this.ws.terminate(); }
}

// Canonical JSON (sorted keys) for comparing documents.
function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

// A DDP id back to the _id value (Meteor's idStringify, reversed).
function parseId(id) {
  if (id.startsWith('-')) return id.slice(1);
  if (id.startsWith('~') || id.startsWith('{')) {
    try {
      return JSON.parse(id.startsWith('~') ? id.slice(1) : id);
    } catch (e) {
      return undefined;  // not JSON (see the check below)
    }
  }
  return id;
}

function pct(sorted, p) {
  if (sorted.length === 0) return '';
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(2);
}

function procStat(pid) {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpuTicks = Number(f[11]) + Number(f[12]);
  return { rssKib: rss, cpuS: cpuTicks / 100 };
}

const log = (...a) => { if (process.env.SOAK_DEBUG) console.error(new Date().toISOString(), ...a); };
async function main() {
  const { proc, port, dataDir } = await startServer();
  const start = Date.now();
  let stopping = false;
  const writeLat = [], deliverLat = [];
  const counters = { writes: 0, writeErrors: 0, reconnects: 0, slowCuts: 0, slowPauses: 0 };

  log('server up');
  // Users for the join.
  const admin = new Ddp(port);
  await admin.opened;
  for (let u = 0; u < USERS; u++) await admin.call('/soak.users/insert', [{ _id: 'u' + u, name: 'user ' + u, tier: u % 3 }]);

  log('users inserted');
  // Steady subscribers: two of each kind (identical queries share one
  // evaluation), one of them measuring delivery latency.
  const subscribers = [];
  const subscribe = async (kind, role) => {
    const c = new Ddp(port, {
      onData: kind === 'filter' && role === 'steady'
        ? (m) => { if (m.fields && m.fields.ts && c.ready) deliverLat.push(Date.now() - m.fields.ts); }
        : undefined,
    });
    await c.opened;
    await c.subscribe(TOPIC(kind), QUERIES[kind]);
    c.kind = kind;
    c.role = role;
    return c;
  };
  for (const kind of Object.keys(QUERIES)) {
    for (let i = 0; i < 2; i++) subscribers.push(await subscribe(kind, 'steady'));
  }

  log('steady subscribed');
  // Reconnecting subscribers: a new connection (and a full resend) every
  // 5-15 s, of a kind chosen at random.
  const kinds = Object.keys(QUERIES);
  const reconnecting = [];
  for (let i = 0; i < 6; i++) {
    reconnecting.push((async () => {
      let c = await subscribe(kinds[i % kinds.length], 'reconnecting');
      while (!stopping) {
        await new Promise((r) => setTimeout(r, 5000 + Math.random() * 10000));
        if (stopping) break;
        c.close();
        c = await subscribe(kinds[Math.floor(Math.random() * kinds.length)], 'reconnecting');
        counters.reconnects++;
      }
      return c;
    })());
  }

  // Slow consumers: the whole topic, reading paused 3 s out of every 8.
  const slow = [];
  for (let i = 0; i < 2; i++) {
    slow.push((async () => {
      let c = await subscribe('projection', 'slow');
      while (!stopping) {
        await new Promise((r) => setTimeout(r, 5000));
        if (stopping) break;
        c.ws._socket.pause();
        counters.slowPauses++;
        await new Promise((r) => setTimeout(r, 3000));
        if (c.ws.readyState !== WebSocket.OPEN) {
          counters.slowCuts++;
          c = await subscribe('projection', 'slow');
        } else {
          c.ws._socket.resume();
        }
      }
      return c;
    })());
  }

  // Writers: inserts, updates and removes over a bounded set of ids.
  const writers = [];
  for (let w = 0; w < 4; w++) {
    const c = new Ddp(port);
    await c.opened;
    writers.push((async () => {
      const rnd = () => Math.random();
      while (!stopping) {
        const id = `o${w}-${Math.floor(rnd() * 500)}`;
        const t0 = process.hrtime.bigint();
        const ts = Date.now();
        const r = rnd();
        const doc = { _id: id, sym: SYMS[Math.floor(rnd() * SYMS.length)], qty: Math.floor(rnd() * 100),
                      px: Math.round(rnd() * 10000) / 100, ts, owner: 'u' + Math.floor(rnd() * USERS) };
        try {
          if (r < 0.1) {
            await c.call('/soak.events/insert', [{ sym: doc.sym, qty: doc.qty, ts }]);
          } else if (r < 0.5) {
            await c.call('/soak.orders/update', [{ _id: id }, doc, { upsert: true }]);
          } else if (r < 0.8) {
            await c.call('/soak.orders/update', [{ _id: id }, { $inc: { qty: 1 }, $set: { ts, px: doc.px } }]);
          } else if (r < 0.95) {
            await c.call('/soak.orders/remove', [{ _id: id }]);
          } else {
            await c.call('/soak.users/update', [{ _id: 'u' + Math.floor(rnd() * USERS) }, { $inc: { tier: 1 } }]);
          }
          counters.writes++;
        } catch (e) {
          counters.writeErrors++;
        }
        writeLat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    })());
  }

  log('writers started');
  // Samples, one row a second.
  const rows = ['t_s,rss_mib,cpu_pct,writes_per_s,write_p50_ms,write_p99_ms,deliver_p50_ms,deliver_p99_ms'];
  let last = procStat(proc.pid), lastWrites = 0;
  const sampler = setInterval(() => {
    const now = procStat(proc.pid);
    const w = writeLat.splice(0).sort((a, b) => a - b);
    const d = deliverLat.splice(0).sort((a, b) => a - b);
    rows.push([((Date.now() - start) / 1000).toFixed(0), (now.rssKib / 1024).toFixed(1),
               ((now.cpuS - last.cpuS) * 100).toFixed(0), counters.writes - lastWrites,
               pct(w, 0.5), pct(w, 0.99), pct(d, 0.5), pct(d, 0.99)].join(','));
    last = now;
    lastWrites = counters.writes;
  }, 1000);

  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stopping = true;
  await Promise.all(writers);
  clearInterval(sampler);
  const finalReconnecting = await Promise.all(reconnecting);
  const finalSlow = await Promise.all(slow);
  for (const c of finalSlow) if (c.ws._socket && c.ws._socket.isPaused()) c.ws._socket.resume();
  // Quiescence: every delta of the last writes delivered.
  await new Promise((r) => setTimeout(r, 3000));

  log('quiescent');
  // Every subscriber against a fresh query of its own query.
  const checker = new Ddp(port);
  await checker.opened;
  let mismatches = 0;
  const all = [...subscribers, ...finalReconnecting, ...finalSlow];
  for (const c of all) {
    const want = await checker.call('query', [TOPIC(c.kind), QUERIES[c.kind]]);
    // A document whose _id is not a string (a $group key) carries it as
    // `_key` (API.md); other ids are Meteor's idStringify form.
    const got = [];
    for (const [, coll] of c.docs) {
      for (const [id, fields] of coll) {
        const { _key, ...rest } = fields;
        got.push(canon({ _id: _key !== undefined ? _key : parseId(id), ...rest }));
      }
    }
    got.sort();
    const wantSet = want.map((d) => canon(d)).sort();
    const same = c.broken === undefined && got.length === wantSet.length && got.every((g, i) => g === wantSet[i]);
    if (!same) {
      mismatches++;
      const missing = wantSet.filter((x) => !got.includes(x)).slice(0, 2);
      const extra = got.filter((x) => !wantSet.includes(x)).slice(0, 2);
      console.error(`MISMATCH ${c.role} ${c.kind}: ${got.length} docs vs ${wantSet.length}` +
                    `${c.broken ? ' (' + c.broken + ')' : ''}; missing ${missing.join(' ')}; extra ${extra.join(' ')}`);
    }
  }
  const end = procStat(proc.pid);
  const csv = OUT + '.csv';
  fs.mkdirSync(path.dirname(csv), { recursive: true });
  fs.writeFileSync(csv, rows.join('\n') + '\n');
  const rss = rows.slice(1).map((r) => Number(r.split(',')[1]));
  const first = rss.slice(0, Math.min(30, rss.length));
  const lastRss = rss.slice(-30);
  const avg = (a) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  const summary = [
    `soak: ${SECONDS} s, ${counters.writes} writes (${counters.writeErrors} errors), ` +
      `${all.length} subscribers checked (${subscribers.length} steady, ${finalReconnecting.length} reconnecting, ` +
      `${finalSlow.length} slow), ${mismatches} mismatches`,
    `reconnects ${counters.reconnects}, slow-consumer pauses ${counters.slowPauses}, cut off by the server ${counters.slowCuts}`,
    `server RSS: first 30 s ${avg(first).toFixed(1)} MiB, last 30 s ${avg(lastRss).toFixed(1)} MiB, ` +
      `peak ${Math.max(...rss).toFixed(1)} MiB; CPU ${end.cpuS.toFixed(1)} s in total`,
    `machine: ${os.cpus().length} x ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  ];
  fs.writeFileSync(OUT + '.txt', summary.join('\n') + '\n');
  console.log(summary.join('\n'));
  try {
    execFileSync('gnuplot', ['-e', [
      `set terminal pngcairo size 1200,700 font ',10'`, `set output '${OUT}.png'`,
      `set datafile separator ','`, `set multiplot layout 2,1 title 'ddpd soak, ${SECONDS} s'`,
      `set xlabel 'seconds'`, `set ylabel 'MiB'`, `set key top left`, `set grid`,
      `plot '${csv}' using 1:2 skip 1 with lines title 'server RSS'`,
      `set ylabel 'ms'`, `set logscale y`,
      `plot '${csv}' using 1:5 skip 1 with lines title 'write p50', '' using 1:6 skip 1 with lines title 'write p99', ` +
        `'' using 1:7 skip 1 with lines title 'delivery p50', '' using 1:8 skip 1 with lines title 'delivery p99'`,
      'unset multiplot'].join('; ')]);
    console.log(`plot: ${OUT}.png`);
  } catch (e) {
    console.error('gnuplot failed (scripts/install-bench-deps.sh installs it): ' + e.message);
  }
  for (const c of [admin, checker, ...all]) c.close();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(mismatches ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
