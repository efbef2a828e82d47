// GET /metrics scraped and parsed by a Prometheus text-format parser from
// npm (parse-prometheus-text-format): every family well-formed and typed,
// and the values follow real traffic from a ddp.js client.
//
//   node tests/js/metrics.js build/bin/test_server
'use strict';
const parse = require('parse-prometheus-text-format');
const { startServer, waitFor, run, finish, assert } = require('./harness');
const DDP = require('ddp.js').default;
const WS = require('ws');

// parse-prometheus-text-format loses a histogram whose _count and _sum
// come before its buckets (its flattenMetrics assumes buckets first);
// prometheus-cpp writes them first, which the format allows. Move each
// histogram's _count and _sum lines after its buckets; nothing is dropped.
function bucketsFirst(text) {
  const lines = text.split('\n');
  const out = [];
  let held = [];
  const flush = () => { out.push(...held); held = []; };
  for (const line of lines) {
    if (/^ddpd_\w+_(count|sum)(\{| )/.test(line) && !line.startsWith('#')) {
      held.push(line);
      continue;
    }
    if (held.length && !/_bucket(\{| )/.test(line)) flush();
    out.push(line);
  }
  flush();
  assert.strictEqual(out.length, lines.length);
  return out.join('\n');
}

async function main() {
  const { proc, port } = await startServer(process.argv[2]);
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.strictEqual(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const families = parse(bucketsFirst(await r.text()));
    const by = {};
    for (const f of families) by[f.name] = f;
    return by;
  };
  const value = (m, name) => Number(m[name].metrics[0].value);

  const cases = [
    ['every family parses, with a type and a help text', async () => {
      const m = await scrape();
      for (const name of ['ddpd_websocket_connections', 'ddpd_messages_received_total',
                          'ddpd_messages_sent_total', 'ddpd_bytes_sent_total',
                          'ddpd_slow_consumer_closes_total', 'ddpd_transactions_total',
                          'ddpd_commit_groups_total', 'ddpd_documents_written_total',
                          'ddpd_live_evaluations', 'ddpd_live_subscriptions', 'ddpd_log_lag',
                          'ddpd_rocksdb_memtable_bytes', 'ddpd_rocksdb_pending_compaction_bytes',
                          'ddpd_rocksdb_write_stopped']) {
        assert.ok(m[name], `${name} is exposed`);
        assert.ok(m[name].help.length > 0, `${name} has help`);
        assert.ok(['COUNTER', 'GAUGE'].includes(m[name].type), `${name} is typed`);
        assert.ok(Number.isFinite(value(m, name)), `${name} is a number`);
      }
      assert.strictEqual(m.ddpd_commit_seconds.type, 'HISTOGRAM');
      assert.strictEqual(m.ddpd_commit_group_transactions.type, 'HISTOGRAM');
      assert.strictEqual(m.ddpd_method_calls_total.type, 'COUNTER');
      assert.strictEqual(m.ddpd_live_evaluations_by_kind.type, 'GAUGE');
      assert.deepStrictEqual(m.ddpd_live_evaluations_by_kind.metrics.map((x) => x.labels.kind).sort(),
                             ['filter', 'group', 'lookup', 'partition', 'sort_limit', 'window']);
      assert.ok(value(m, 'ddpd_outbound_queued_bytes') >= 0);
      for (const [name, f] of Object.entries(m)) {
        assert.ok(/^ddpd_[a-z_]+$/.test(name), name);
        if (f.type === 'COUNTER') assert.ok(name.endsWith('_total'), `${name}: counters end in _total`);
      }
    }],
    ['values move when traffic flows', async () => {
      const before = await scrape();
      const d = new DDP({ endpoint: `ws://127.0.0.1:${port}/websocket`, SocketConstructor: WS,
                          autoReconnect: false });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected');
      let ready = false;
      d.on('ready', () => { ready = true; });
      d.sub('metered', []);
      await waitFor(() => ready, 'ready');
      const results = {};
      d.on('result', (msg) => { results[msg.id] = msg; });
      const ids = [];
      for (let i = 0; i < 10; i++) ids.push(d.method('/metered/insert', [{ i }]));
      await waitFor(() => ids.every((id) => results[id]), 'the inserts');
      const during = await scrape();
      assert.strictEqual(value(during, 'ddpd_websocket_connections'),
                         value(before, 'ddpd_websocket_connections') + 1);
      assert.ok(value(during, 'ddpd_live_subscriptions') >= 1);
      assert.ok(value(during, 'ddpd_documents_written_total') >=
                value(before, 'ddpd_documents_written_total') + 10);
      assert.ok(value(during, 'ddpd_transactions_total') >= value(before, 'ddpd_transactions_total') + 10);
      assert.ok(value(during, 'ddpd_messages_received_total') >=
                value(before, 'ddpd_messages_received_total') + 12);  // connect, sub, 10 methods
      assert.ok(value(during, 'ddpd_messages_sent_total') >= value(before, 'ddpd_messages_sent_total') + 30);
      assert.ok(value(during, 'ddpd_bytes_sent_total') > value(before, 'ddpd_bytes_sent_total'));
      assert.ok(value(during, 'ddpd_bytes_received_total') >= value(before, 'ddpd_bytes_received_total') + 300,
                'the connect, sub and inserts were received');
      assert.ok(value(during, 'ddpd_rocksdb_memtable_bytes') > 0);

      // Method calls by name and outcome: the inserts, a call to a method
      // that does not exist, and one that fails.
      const calls = (m, method, outcome) => {
        const x = m.ddpd_method_calls_total.metrics.find(
          (c) => c.labels.method === method && c.labels.outcome === outcome);
        return x ? Number(x.value) : 0;
      };
      const unknown = d.method('no.such.method', []);
      const failing = d.method('/metered/update', ['x', { $bad: 1 }]);
      await waitFor(() => results[unknown] && results[failing], 'the failing calls');
      assert.ok(results[failing].error, 'the bad update fails');
      const after = await scrape();
      assert.strictEqual(calls(after, '/metered/insert', 'ok') - calls(before, '/metered/insert', 'ok'), 10);
      assert.strictEqual(calls(after, '(unknown)', 'not_found') - calls(before, '(unknown)', 'not_found'), 1);
      assert.ok(!after.ddpd_method_calls_total.metrics.some((c) => c.labels.method === 'no.such.method'),
                'a method that does not exist is not a label');
      const failed = after.ddpd_method_calls_total.metrics.filter(
        (c) => c.labels.method === '/metered/update' && c.labels.outcome !== 'ok');
      assert.strictEqual(failed.reduce((n, c) => n + Number(c.value), 0), 1, 'the failed update');

      // Commit histograms: cumulative buckets that end at the count, a sum.
      for (const name of ['ddpd_commit_seconds', 'ddpd_commit_group_transactions']) {
        const h = after[name].metrics[0];
        const b = before[name].metrics[0];
        assert.ok(Number(h.count) >= Number(b.count) + 1, `${name} counted the commits`);
        assert.ok(Number(h.sum) > Number(b.sum), `${name} has a sum`);
        // (numeric order: an object lists integer-like keys such as "1" first)
        const les = Object.keys(h.buckets).sort((x, y) => Number(x) - Number(y));
        assert.strictEqual(les[les.length - 1], '+Inf');
        let last = 0;
        for (const le of les) {
          assert.ok(Number(h.buckets[le]) >= last, `${name} buckets are cumulative`);
          last = Number(h.buckets[le]);
        }
        assert.strictEqual(last, Number(h.count));
      }
      // The group transactions histogram has all ten inserts (one each at
      // least once; grouped or not, they add up).
      assert.ok(Number(after.ddpd_commit_group_transactions.metrics[0].sum) -
                Number(before.ddpd_commit_group_transactions.metrics[0].sum) >= 10);

      // Live evaluations by kind follow a $group subscription.
      const kind = (m, k) => Number(m.ddpd_live_evaluations_by_kind.metrics.find((x) => x.labels.kind === k).value);
      let grouped = false;
      const gsub = d.sub('metered', [{ pipeline: [{ $group: { _id: null, n: { $sum: 1 } } }], as: 'counts' }]);
      d.on('ready', (msg) => { if (msg.subs.includes(gsub)) grouped = true; });
      await waitFor(() => grouped, 'the $group subscription');
      const withGroup = await scrape();
      assert.strictEqual(kind(withGroup, 'group') - kind(after, 'group'), 1);
      assert.strictEqual(kind(withGroup, 'filter'), kind(after, 'filter'));
      d.disconnect();
    }],
  ];
  const failed = await run(cases);
  await finish(proc, failed);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
