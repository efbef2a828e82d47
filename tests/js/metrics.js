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

async function main() {
  const { proc, port } = await startServer(process.argv[2]);
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.strictEqual(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const families = parse(await r.text());
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
      assert.ok(value(during, 'ddpd_rocksdb_memtable_bytes') > 0);
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
