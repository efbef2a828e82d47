// Access rules with real npm DDP clients: simpleddp (+ simpleddp-plugin-login)
// users logged in with JWTs see only their own notes, live, without the
// hidden field; writes outside their rights get Meteor's 403; an anonymous
// ddp.js client gets `nosub` 403; and a rules file changed under the
// running server (SIGHUP) changes what connected clients see, without a
// reconnect.
//
//   node tests/js/access.js build/bin/test_server
'use strict';
const fs = require('fs');
const path = require('path');
const { startServer, waitFor, run, finish, assert, jwt, claims, jwtFlags } = require('./harness');
const simpleDDP = require('simpleddp');
const { simpleDDPLogin } = require('simpleddp-plugin-login');
const DDP = require('ddp.js').default;
const WS = require('ws');

const RULES = {
  rules: [
    { topics: ['notes.*', 'secret', 'public.>'], who: { roles: ['admin'] }, allow: ['read', 'write'] },
    { topics: 'notes.*', who: 'user', allow: ['read', 'write'],
      filter: { ownerId: '$user.sub' }, hide: ['internal'] },
    { topics: 'public.>', allow: ['sub', 'query'] },
  ],
};
const WIDER = {
  rules: [
    { topics: 'notes.*', who: { roles: ['admin'] }, allow: ['read', 'write'] },
    { topics: 'notes.*', who: 'user', allow: ['read'], hide: ['internal'] },
  ],
};

async function main() {
  const binary = process.argv[2];
  const secret = jwtFlags();
  const rulesFile = path.join(secret.dir, 'rules.json');
  fs.writeFileSync(rulesFile, JSON.stringify(RULES));
  const { proc, port } = await startServer(binary, [...secret.flags, '--rules', rulesFile]);
  const endpoint = `ws://127.0.0.1:${port}/websocket`;
  const login = async (sub, extra = {}) => {
    const s = new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws'),
                              reconnectInterval: 50 }, [simpleDDPLogin]);
    await s.connect();
    await s.login({ jwt: jwt(claims(sub, extra)) });
    return s;
  };
  const admin = await login('boss', { roles: ['admin'] });
  for (const d of [{ _id: 'a1', ownerId: 'u1', text: 'mine', internal: 'i-a1' },
                   { _id: 'b1', ownerId: 'u2', text: 'theirs', internal: 'i-b1' }]) {
    await admin.call('/notes.n/insert', d);
  }
  await admin.call('/secret/insert', { _id: 's1', code: 'xyzzy' });
  await admin.call('/public.news/insert', { _id: 'n1', noteId: 'b1', title: 'hello' });
  const ids = (coll) => coll.fetch().map((d) => d.id).sort().join(',');
  // What another user's documents and the hidden fields contain: none of it
  // may reach u1, in results or in errors.
  const SECRETS = ['theirs', 'i-a1', 'i-b1', 'xyzzy'];
  const noLeak = (what, text) => {
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), `${secret} leaked through ${what}: ${text}`);
    }
  };

  const cases = [
    ['simpleddp: each user sees only its own notes, live, without the hidden field', async () => {
      const u1 = await login('u1');
      const u2 = await login('u2');
      await u1.subscribe('notes.n').ready();
      await u2.subscribe('notes.n').ready();
      const c1 = u1.collection('notes.n');
      const c2 = u2.collection('notes.n');
      await waitFor(() => ids(c1) === 'a1' && ids(c2) === 'b1', 'the initial results');
      assert.strictEqual(c1.fetch()[0].internal, undefined);
      assert.strictEqual(c1.fetch()[0].text, 'mine');
      // The admin hands a1 over to u2: it moves between the two views.
      await admin.call('/notes.n/update', { _id: 'a1' }, { $set: { ownerId: 'u2' } });
      await waitFor(() => ids(c1) === '' && ids(c2) === 'a1,b1', 'a1 moving to u2');
      await admin.call('/notes.n/update', { _id: 'a1' }, { $set: { ownerId: 'u1' } });
      await waitFor(() => ids(c1) === 'a1' && ids(c2) === 'b1', 'a1 coming back');
      // u1's own insert shows up for u1 only.
      await u1.call('/notes.n/insert', { _id: 'a2', ownerId: 'u1', text: 'new' });
      await waitFor(() => ids(c1) === 'a1,a2', 'u1 seeing its insert');
      assert.strictEqual(ids(c2), 'b1');
      await u1.call('/notes.n/remove', { _id: 'a2' });
      await u1.disconnect();
      await u2.disconnect();
    }],
    ['simpleddp: writes outside the rules are refused with 403, and change nothing', async () => {
      const u1 = await login('u1');
      const denied = (e) => e && e.error === 403 && /^Access denied/.test(e.reason);
      await assert.rejects(u1.call('/notes.n/insert', { ownerId: 'u2', text: 'planted' }), denied);
      await assert.rejects(u1.call('/notes.n/insert', { ownerId: 'u1', internal: 'x' }), denied);
      await assert.rejects(u1.call('/notes.n/update', { _id: 'a1' }, { $set: { ownerId: 'u2' } }),
                           denied);
      assert.strictEqual(await u1.call('/notes.n/update', { _id: 'b1' }, { $set: { text: 'x' } }), 0);
      assert.strictEqual(await u1.call('/notes.n/remove', { _id: 'b1' }), 0);
      await assert.rejects(u1.call('history', 'notes.n'), denied);
      const all = await admin.call('query', 'notes.n', { sort: { _id: 1 } });
      assert.deepStrictEqual(all, [
        { _id: 'a1', ownerId: 'u1', text: 'mine', internal: 'i-a1' },
        { _id: 'b1', ownerId: 'u2', text: 'theirs', internal: 'i-b1' }]);
      await u1.disconnect();
    }],
    ['simpleddp: no read path leaks ($lookup, hidden-field filters, history, errors, HTTP)', async () => {
      const u1 = await login('u1');
      const denied = (e) => e && e.error === 403 && /^Access denied/.test(e.reason);
      const tried = [];
      const attempt = async (what, p) => {
        try {
          tried.push([what, JSON.stringify(await p)]);
        } catch (e) {
          tried.push([what, JSON.stringify(e)]);
          return e;
        }
        return null;
      };
      // A $lookup joins only u1's own notes (b1 is u2's), never a topic u1
      // may not read.
      await attempt('$lookup', u1.call('query', 'public.news', { pipeline: [{ $lookup:
        { from: 'notes.n', localField: 'noteId', foreignField: '_id', as: 'note' } }] }).then((r) => {
        assert.deepStrictEqual(r[0].note, []);
        return r;
      }));
      assert.ok(denied(await attempt('$lookup into secret', u1.call('query', 'public.news', {
        pipeline: [{ $lookup: { from: 'secret', localField: 'title', foreignField: 'code', as: 'x' } }] }))));
      assert.ok(denied(await attempt('hidden-field filter',
        u1.call('query', 'notes.n', { filter: { internal: 'i-b1' } }))));
      assert.ok(denied(await attempt('history', u1.call('history', 'notes.n'))));
      assert.ok(denied(await attempt('secret', u1.call('query', 'secret'))));
      await attempt('other owner', u1.call('query', 'notes.n', { filter: { ownerId: 'u2' } }).then((r) => {
        assert.deepStrictEqual(r, []);
        return r;
      }));
      // The same over HTTP with the resume token the login returned.
      const token = u1.token || (await u1.call('getNewToken')).token;
      const http = async (route) => {
        const r = await fetch(`http://127.0.0.1:${port}${route}`,
                              { headers: { Authorization: `Bearer ${token}` } });
        const text = `${r.status} ${await r.text()}`;
        tried.push([route, text]);
        return text;
      };
      assert.strictEqual(await http('/api/v1/topics'),
                         '200 [{"name":"notes.n"},{"name":"public.news","documents":1,"writes":1}]');
      assert.strictEqual(JSON.parse((await http('/api/v1/topics/notes.n')).slice(4)).map((d) => d._id)
        .join(','), 'a1');
      assert.match(await http('/api/v1/topics/secret'), /^403 /);
      for (const [what, text] of tried) noLeak(what, text);
      await u1.disconnect();
    }],
    ['ddp.js: an anonymous subscription gets nosub 403', async () => {
      const d = new DDP({ endpoint, SocketConstructor: WS, autoReconnect: false });
      let nosub = null;
      d.on('nosub', (m) => { nosub = m; });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected');
      d.sub('notes.n', []);
      await waitFor(() => nosub !== null, 'nosub');
      assert.strictEqual(nosub.error.error, 403);
      assert.strictEqual(nosub.error.reason, "Access denied: no rule lets anonymous clients sub 'notes.n'");
      d.disconnect();
    }],
    ['SIGHUP: new rules reach connected clients without a reconnect', async () => {
      const u1 = await login('u1');
      let reconnects = 0;
      u1.on('reconnected', () => { reconnects++; });
      await u1.subscribe('notes.n').ready();
      const c1 = u1.collection('notes.n');
      await waitFor(() => ids(c1) === 'a1', 'the filtered result');
      fs.writeFileSync(rulesFile, JSON.stringify(WIDER));
      proc.kill('SIGHUP');
      await waitFor(() => ids(c1) === 'a1,b1', 'every note after the reload');
      assert.strictEqual(c1.fetch().find((d) => d.id === 'b1').internal, undefined);
      assert.strictEqual(reconnects, 0);
      fs.writeFileSync(rulesFile, JSON.stringify(RULES));
      proc.kill('SIGHUP');
      await waitFor(() => ids(c1) === 'a1', 'the filtered result again');
      await u1.disconnect();
    }],
  ];
  const failed = await run(cases);
  await admin.disconnect();
  await finish(proc, failed, () => fs.rmSync(secret.dir, { recursive: true, force: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
