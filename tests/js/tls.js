// TLS with Node clients: the test server with a certificate made here by
// the openssl command line; ws and ddp.js over wss:// (trusting only that
// certificate), https:// routes, a plain request refused, and a new
// certificate taken on SIGHUP while an open connection stays.
//
//   node tests/js/tls.js build/bin/test_server
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');
const tls = require('tls');
const { startServer, waitFor, run, finish, assert } = require('./harness');
const DDP = require('ddp.js').default;
const WS = require('ws');

function makeCertificate(dir, name) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                           '-nodes', '-days', '1', '-subj', '/CN=localhost',
                           '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                           '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`)],
               { stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, `${name}.pem`));
}

// The fingerprint of the certificate a fresh TLS connection is shown.
function peerFingerprint(port, ca) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function get(port, route, ca) {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: route, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

async function main() {
  const binary = process.argv[2];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddpd-tls-'));
  const first = makeCertificate(dir, 'first');
  const second = makeCertificate(dir, 'second');
  fs.copyFileSync(path.join(dir, 'first.pem'), path.join(dir, 'server.pem'));
  fs.copyFileSync(path.join(dir, 'first.key'), path.join(dir, 'server.key'));
  const { proc, port } = await startServer(binary, [
    '--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')]);
  const url = `wss://localhost:${port}/websocket`;

  const cases = [
    ['https: routes over TLS, trusting only the test certificate', async () => {
      const r = await get(port, '/healthz', first);
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(JSON.parse(r.body), { status: 'ok' });
      await assert.rejects(get(port, '/healthz', undefined), /self.signed|unable to verify/i);
    }],
    ['plain http:// on the TLS port gets 400 with the reason', async () => {
      const body = await new Promise((resolve, reject) => {
        require('http').get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
          let b = '';
          res.on('data', (d) => { b += d; });
          res.on('end', () => resolve(`${res.statusCode} ${b}`));
        }).on('error', reject);
      });
      assert.strictEqual(body, '400 {"error":400,"reason":"this port speaks TLS: use https:// or wss://"}');
    }],
    ['ddp.js over wss://: connect, call, subscribe, large messages both ways', async () => {
      class TlsWS extends WS {
        constructor(u) { super(u, { ca: first }); }
      }
      const d = new DDP({ endpoint: url, SocketConstructor: TlsWS, autoReconnect: false });
      const results = {};
      const added = [];
      d.on('result', (m) => { results[m.id] = m; });
      d.on('added', (m) => { added.push(m); });
      let ready = false;
      d.on('ready', () => { ready = true; });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected over wss');
      d.sub('big', []);
      await waitFor(() => ready, 'ready');
      const text = 'y'.repeat(300000);
      const id = d.method('/big/insert', [{ text }]);
      await waitFor(() => results[id], 'the insert');
      assert.strictEqual(results[id].error, undefined);
      await waitFor(() => added.length === 1, 'the added message');
      assert.strictEqual(added[0].fields.text, text);
      d.disconnect();
    }],
    ['SIGHUP: new connections get the new certificate, an open one stays', async () => {
      const open = new WS(url, { ca: first });
      await new Promise((r, j) => { open.on('open', r); open.on('error', j); });
      open.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
      const before = await peerFingerprint(port, first);
      fs.copyFileSync(path.join(dir, 'second.pem'), path.join(dir, 'server.pem'));
      fs.copyFileSync(path.join(dir, 'second.key'), path.join(dir, 'server.key'));
      proc.kill('SIGHUP');
      // The signal is handled on its own time: poll until a new connection
      // is shown the second certificate.
      let after = before;
      for (let i = 0; i < 100 && after === before; i++) {
        after = await peerFingerprint(port, second).catch(() => before);
        if (after === before) await new Promise((r) => setTimeout(r, 50));
      }
      assert.notStrictEqual(after, before, 'the server shows the second certificate');
      // The connection made before the reload still answers.
      const pong = new Promise((r) => open.on('message', (m) => {
        if (JSON.parse(m).msg === 'pong') r();
      }));
      open.send(JSON.stringify({ msg: 'ping' }));
      await pong;
      open.close();
    }],
  ];
  const failed = await run(cases);
  await finish(proc, failed, () => fs.rmSync(dir, { recursive: true, force: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
