// Logins with real npm DDP clients: simpleddp with simpleddp-plugin-login
// (which logs in again with the resume token after every reconnect, as
// Meteor's accounts client does) and raw ddp.js, against the test server
// with an HS256 secret. Tokens are signed here with Node's crypto.
//
//   node tests/js/auth.js build/bin/test_server
'use strict';
const fs = require('fs');
const { startServer, waitFor, run, finish, assert, jwt, claims, now, jwtFlags } = require('./harness');
const simpleDDP = require('simpleddp');
const { simpleDDPLogin } = require('simpleddp-plugin-login');
const DDP = require('ddp.js').default;
const WS = require('ws');

async function main() {
  const binary = process.argv[2];
  const secret = jwtFlags();
  const { proc, port } = await startServer(binary, secret.flags);
  const endpoint = `ws://127.0.0.1:${port}/websocket`;
  const simple = () => new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws'),
                                       reconnectInterval: 50 }, [simpleDDPLogin]);

  const cases = [
    ['simpleddp-plugin-login: login with a JWT, data follows the user, logout', async () => {
      const s = simple();
      await s.connect();
      const who = s.subscribe('whoami');
      await who.ready();
      const coll = s.collection('whoami');
      const me = () => coll.fetch().find((d) => d.id === 'me');
      assert.strictEqual(me().user, 'anonymous');
      const m = await s.login({ jwt: jwt(claims('u1', { role: 'admin' })) });
      assert.strictEqual(m.id, 'u1');
      assert.strictEqual(s.userId, 'u1');
      assert.ok(typeof m.token === 'string' && m.token.length >= 40);
      assert.ok(m.tokenExpires instanceof Date, 'tokenExpires is an EJSON date');
      await waitFor(() => me().user === 'u1' && me().role === 'admin', 'the re-run subscription');
      await waitFor(() => coll.fetch().some((d) => d.id === 'secret'), 'the user\'s document');
      await s.logout();
      await waitFor(() => me().user === 'anonymous' && me().role === undefined, 'anonymous again');
      await waitFor(() => !coll.fetch().some((d) => d.id === 'secret'), 'secret retracted');
      await s.disconnect();
    }],
    ['simpleddp-plugin-login: after a reconnect it logs in again with the resume token', async () => {
      const s = simple();
      await s.connect();
      let resumed = null;
      s.on('loginResume', (m) => { resumed = m; });
      await s.login({ jwt: jwt(claims('u1')) });
      const who = s.subscribe('whoami');
      await who.ready();
      // Drop the socket under the client: it reconnects, logs in with
      // {resume: token} and subscribes again.
      s.ddpConnection.socket.rawSocket.terminate();
      await waitFor(() => resumed !== null, 'the resume login', 10000);
      assert.strictEqual(resumed.id, 'u1');
      assert.strictEqual(resumed.type, 'resume');
      const coll = s.collection('whoami');
      await waitFor(() => coll.fetch().some((d) => d.id === 'secret'), 'data as u1 after the reconnect');
      await s.disconnect();
    }],
    ['simpleddp-plugin-login: forged, expired and misaddressed tokens are refused', async () => {
      const s = simple();
      await s.connect();
      const forbidden = (e) => e && e.error === 403 && /^Login forbidden: invalid token/.test(e.reason);
      await assert.rejects(s.login({ jwt: jwt(claims('u1'), { header: { alg: 'none' } }).replace(/[^.]*$/, '') }), forbidden);
      await assert.rejects(s.login({ jwt: jwt(claims('u1'), { secret: 'another-secret-another-secret-xx' }) }), forbidden);
      await assert.rejects(s.login({ jwt: jwt(claims('u1', { exp: now() - 3600 })) }), forbidden);
      await assert.rejects(s.login({ jwt: jwt(claims('u1', { aud: 'other' })) }), forbidden);
      await assert.rejects(s.login({ resume: 'made-up' }), (e) => e && e.error === 403);
      assert.strictEqual(s.userId, undefined);
      await s.disconnect();
    }],
    ['ddp.js: the login reply as Meteor shapes it', async () => {
      const d = new DDP({ endpoint, SocketConstructor: WS, autoReconnect: false });
      const results = {};
      d.on('result', (m) => { results[m.id] = m; });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected');
      const id = d.method('login', [{ jwt: jwt(claims('u7')) }]);
      await waitFor(() => results[id], 'result');
      const r = results[id].result;
      assert.strictEqual(r.id, 'u7');
      assert.strictEqual(r.type, 'jwt');
      assert.ok(r.tokenExpires && typeof r.tokenExpires.$date === 'number', 'raw EJSON date');
      const again = d.method('login', [{ resume: r.token }]);
      await waitFor(() => results[again], 'resume result');
      assert.strictEqual(results[again].result.type, 'resume');
      d.disconnect();
    }],
  ];
  const failed = await run(cases);
  await finish(proc, failed, () => fs.rmSync(secret.dir, { recursive: true, force: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
