// The server's log, read as an operator's log shipper would: started with
// --log-format json at the most verbose level, every stderr line is one
// JSON object with ts, level, thread and msg; the secrets that passed
// through the server (a JWT, the resume token it issued, an API key, the
// JWT secret, a password-like method argument) appear in none of them; and
// HTTP answers carry X-Request-Id (the client's own when it sent a sane
// one).
//
//   node tests/js/logs.js build/bin/test_server
'use strict';
const fs = require('fs');
const path = require('path');
const { startServer, waitFor, run, finish, assert, jwt, claims, jwtFlags, JWT_SECRET } = require('./harness');
const DDP = require('ddp.js').default;
const WS = require('ws');

async function main() {
  const secret = jwtFlags();
  const apiKey = 'svc-key-' + require('crypto').randomBytes(16).toString('hex');
  fs.writeFileSync(path.join(secret.dir, 'keys'), `ingest read,write ${apiKey}\n`, { mode: 0o600 });
  let log = '';
  const { proc, port } = await startServer(process.argv[2],
    [...secret.flags, '--api-keys-file', path.join(secret.dir, 'keys'), '--log-format', 'json'],
    { logLevel: 'trace', stderr: (d) => { log += d; } });
  const secrets = [];

  const cases = [
    ['logins, a bad token, HTTP with credentials: traffic that could leak', async () => {
      const d = new DDP({ endpoint: `ws://127.0.0.1:${port}/websocket`, SocketConstructor: WS,
                          autoReconnect: false });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected');
      const results = {};
      d.on('result', (m) => { results[m.id] = m; });
      const call = async (name, params) => {
        const id = d.method(name, params);
        await waitFor(() => results[id], name);
        return results[id];
      };
      const token = jwt(claims('u1', { role: 'admin' }));
      secrets.push(token, token.split('.')[2]);
      const login = await call('login', [{ jwt: token }]);
      assert.ok(!login.error, JSON.stringify(login.error));
      secrets.push(login.result.token);
      const resumed = await call('login', [{ resume: login.result.token }]);
      assert.ok(!resumed.error);
      const forged = jwt(claims('u2'), { secret: 'not-the-secret-of-this-server-0123456789' });
      secrets.push(forged.split('.')[2]);
      assert.ok((await call('login', [{ jwt: forged }])).error, 'a forged JWT is refused');
      const bad = await call('login', [{ user: { username: 'u1' }, password: 'hunter2-password-xyz' }]);
      assert.ok(bad.error, 'password logins do not exist');
      secrets.push('hunter2-password-xyz');
      assert.ok((await call('no.such.method', [{ apiKey }])).error);
      d.disconnect();

      for (const auth of [apiKey, login.result.token, 'wrong-' + apiKey]) {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/topics`,
                              { headers: { Authorization: `Bearer ${auth}` } });
        assert.ok(r.status === 200 || r.status === 401, String(r.status));
        assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
      }
      secrets.push(apiKey, JWT_SECRET);
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/topics/x?token=${apiKey}`);
      await r.text();
    }],
    ['X-Request-Id: the client\'s own is echoed, a hostile one replaced', async () => {
      const mine = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'X-Request-Id': 'lb-42.abc' } });
      assert.strictEqual(mine.headers.get('x-request-id'), 'lb-42.abc');
      const hostile = await fetch(`http://127.0.0.1:${port}/healthz`,
                                  { headers: { 'X-Request-Id': 'x"} ' + 'a'.repeat(100) } });
      assert.match(hostile.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
      const a = (await fetch(`http://127.0.0.1:${port}/nope`)).headers.get('x-request-id');
      const b = (await fetch(`http://127.0.0.1:${port}/nope`)).headers.get('x-request-id');
      assert.notStrictEqual(a, b);
    }],
    ['every line is one JSON event, and no secret is in any', async () => {
      // SIGHUP makes the server log (a rules/TLS reload) without traffic.
      proc.kill('SIGHUP');
      await waitFor(() => /reload/i.test(log), 'the reload lines');
      const lines = log.split('\n').filter((l) => l.length > 0);
      assert.ok(lines.length >= 3, `the server logged (${lines.length} lines)`);
      const levels = new Set();
      for (const line of lines) {
        let e;
        try { e = JSON.parse(line); } catch (err) { assert.fail(`not JSON: ${line}`); }
        assert.deepStrictEqual(Object.keys(e), ['ts', 'level', 'thread', 'msg'], line);
        assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(['trace', 'debug', 'info', 'warning', 'error', 'critical'].includes(e.level), e.level);
        levels.add(e.level);
        assert.strictEqual(typeof e.msg, 'string');
      }
      assert.ok(levels.has('info'), [...levels].join());
      for (const s of secrets) {
        assert.ok(s && s.length >= 16, 'a real secret');
        const hit = lines.find((l) => l.includes(s));
        assert.ok(!hit, `a secret is in the log: ${hit}`);
      }
    }],
  ];
  const failed = await run(cases);
  await finish(proc, failed, () => fs.rmSync(secret.dir, { recursive: true, force: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
