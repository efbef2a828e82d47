// Interoperability with real DDP clients from npm (simpleddp, ddp.js)
// against the test server: connect, methods, subscriptions, errors.
//
//   node tests/js/interop.js build/bin/test_server
'use strict';
const { startServer, waitFor, run, finish, assert } = require('./harness');
const simpleDDP = require('simpleddp');
const DDP = require('ddp.js').default;
const WS = require('ws');

// simpleddp's subscription constructor starts the subscription and drops
// the promise; a nosub with an error then rejects it unhandled. Those are
// expected here (the tests check the same error through ready()); anything
// else fails the run.
const unexpected = [];
process.on('unhandledRejection', (reason) => {
  if (!(reason && reason.errorType === 'Meteor.Error')) unexpected.push(reason);
});

async function main() {
  const binary = process.argv[2];
  const { proc, port } = await startServer(binary);
  const endpoint = `ws://127.0.0.1:${port}/websocket`;

  const cases = [
    ['simpleddp: connect and call methods', async () => {
      const s = new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws'), reconnectInterval: 100 });
      await s.connect();
      assert.strictEqual(await s.call('add', 2, 40), 42);
      assert.deepStrictEqual(await s.call('echo', 'a', { b: [1, 2] }), ['a', { b: [1, 2] }]);
      assert.strictEqual(await s.call('nothing'), undefined);
      const d = new Date(1700000000123);
      const back = await s.call('echo', d);
      assert.ok(back[0] instanceof Date, 'EJSON date survives the round trip');
      assert.strictEqual(back[0].getTime(), d.getTime());
      await assert.rejects(s.call('fail'), (e) => e.error === 404 && e.reason === 'nothing here' &&
                                                e.errorType === 'Meteor.Error');
      await assert.rejects(s.call('throw'), (e) => e.error === 500 && e.reason === 'Internal server error');
      await assert.rejects(s.call('no.such.method'), (e) => e.error === 404);
      await s.disconnect();
    }],
    ['simpleddp: subscriptions, merge box and reactive changes', async () => {
      const s = new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws') });
      await s.connect();
      const items = s.subscribe('items', 3);
      await items.ready();
      const coll = s.collection('items');
      assert.strictEqual(coll.fetch().length, 3);
      assert.deepStrictEqual(coll.fetch().map((d) => d.n).sort(), [0, 1, 2]);
      const b = s.subscribe('items-b', 3);
      await b.ready();
      await waitFor(() => coll.fetch().every((d) => d.label !== undefined), 'union of fields');
      assert.strictEqual(coll.fetch().find((d) => d.id === 'i1').shared, 'a');
      await items.stop();
      await waitFor(() => coll.fetch().every((d) => d.n === undefined), 'n cleared');
      assert.strictEqual(coll.fetch().length, 3);
      assert.strictEqual(coll.fetch().find((d) => d.id === 'i1').shared, 'b');
      await b.stop();
      await waitFor(() => coll.fetch().length === 0, 'documents removed');

      const counter = s.subscribe('counter');
      await counter.ready();
      const c = s.collection('counters');
      const before = c.fetch()[0].value;
      const after = await s.call('counter.inc');
      assert.strictEqual(after, before + 1);
      await waitFor(() => c.fetch()[0].value === after, 'counter change');
      await s.disconnect();
    }],
    ['simpleddp: subscription errors', async () => {
      const s = new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws') });
      await s.connect();
      await assert.rejects(s.subscribe('denied').ready(), (e) => e.error === 403);
      // Valid topic names are always subscribable; this name is not one.
      await assert.rejects(s.subscribe('no such pub!').ready(), (e) => e.error === 404);
      await s.disconnect();
    }],
    ['simpleddp: topics with Meteor collection methods', async () => {
      const s = new simpleDDP({ endpoint, SocketConstructor: require('isomorphic-ws') });
      await s.connect();
      const sub = s.subscribe('tasks', { filter: { done: false } });
      await sub.ready();
      const tasks = s.collection('tasks');
      const id = await s.call('/tasks/insert', { text: 'write tests', done: false, at: new Date(5) });
      assert.strictEqual(typeof id, 'string');
      await waitFor(() => tasks.fetch().length === 1, 'inserted task');
      assert.ok(tasks.fetch()[0].at instanceof Date);
      assert.strictEqual(await s.call('/tasks/update', { _id: id }, { $set: { text: 'write more tests' } }), 1);
      await waitFor(() => tasks.fetch()[0].text === 'write more tests', 'updated task');
      // Leaving the filter removes it from the subscriber's view.
      await s.call('/tasks/update', { _id: id }, { $set: { done: true } });
      await waitFor(() => tasks.fetch().length === 0, 'task left the filter');
      assert.deepStrictEqual(await s.call('query', 'tasks', { fields: { text: 1 } }), [{ _id: id, text: 'write more tests' }]);
      assert.strictEqual(await s.call('/tasks/remove', { _id: id }), 1);
      await s.call('/tasks/insert', { _id: 'str', text: 'a' });
      await assert.rejects(s.call('/tasks/update', { _id: 'str' }, { $inc: { text: 1 } }),
                           (e) => e.error === 400 && /non-numeric/.test(e.reason));
      await assert.rejects(s.call('/tasks/insert', { _id: 'str' }), (e) => e.error === 409);
      await assert.rejects(s.call('tx', [{ op: 'expect', topic: 'tasks', id: 'nope', exists: true }]),
                           (e) => e.error === 'conflict');
      await s.disconnect();
    }],
    ['ddp.js: the raw message stream', async () => {
      const d = new DDP({ endpoint, SocketConstructor: WS, autoReconnect: false });
      const seen = [];
      for (const kind of ['connected', 'result', 'updated', 'added', 'changed', 'removed', 'ready', 'nosub']) {
        d.on(kind, (m) => seen.push({ msg: kind, ...(m || {}) }));
      }
      await waitFor(() => seen.some((m) => m.msg === 'connected'), 'connected');
      const mid = d.method('add', [1, 2]);
      await waitFor(() => seen.some((m) => m.msg === 'updated' && m.methods.includes(mid)), 'updated');
      const result = seen.find((m) => m.msg === 'result' && m.id === mid);
      assert.strictEqual(result.result, 3);
      assert.ok(seen.indexOf(result) < seen.findIndex((m) => m.msg === 'updated'), 'result before updated');

      const sid = d.sub('ticker', []);
      await waitFor(() => seen.some((m) => m.msg === 'ready' && m.subs.includes(sid)), 'ready');
      assert.ok(seen.some((m) => m.msg === 'added' && m.collection === 'ticker' && m.id === 't'));
      d.method('ticker.tick', [{ deep: [1, 'x'] }]);
      await waitFor(() => seen.some((m) => m.msg === 'changed' && m.collection === 'ticker'), 'changed');
      assert.deepStrictEqual(seen.find((m) => m.msg === 'changed').fields, { v: { deep: [1, 'x'] } });
      d.unsub(sid);
      await waitFor(() => seen.some((m) => m.msg === 'nosub' && m.id === sid), 'nosub');
      assert.ok(seen.some((m) => m.msg === 'removed' && m.id === 't'));

      const bad = d.sub('denied', []);
      await waitFor(() => seen.some((m) => m.msg === 'nosub' && m.id === bad), 'nosub with error');
      assert.strictEqual(seen.find((m) => m.msg === 'nosub' && m.id === bad).error.error, 403);
      d.disconnect();
    }],
    ['ddp.js: live query with sort/limit (ordered), $group and $lookup', async () => {
      const d = new DDP({ endpoint, SocketConstructor: WS, autoReconnect: false });
      // ddp.js emits no events for addedBefore/movedBefore: read its socket's
      // raw message stream instead.
      const seen = [];
      d.socket.on('message:in', (m) => seen.push(m));
      await waitFor(() => seen.some((m) => m.msg === 'connected'), 'connected');
      const call = (method, params) => {
        const id = d.method(method, params);
        return waitFor(() => seen.some((m) => m.msg === 'result' && m.id === id), method);
      };
      await call('publish', ['board', [{ _id: 'a', pts: 1 }, { _id: 'b', pts: 5 }, { _id: 'c', pts: 3 }]]);
      const top = d.sub('board', [{ sort: { pts: -1 }, limit: 2, ordered: true }]);
      await waitFor(() => seen.some((m) => m.msg === 'ready' && m.subs.includes(top)), 'ready');
      assert.deepStrictEqual(seen.filter((m) => m.msg === 'addedBefore').map((m) => [m.id, m.before]),
                             [['b', null], ['c', null]]);
      await call('/board/update', [{ _id: 'a' }, { $set: { pts: 4 } }]);
      await waitFor(() => seen.some((m) => m.msg === 'addedBefore' && m.id === 'a'), 'a enters');
      // c (3) leaves the window; a (4) goes last, after b (5).
      assert.strictEqual(seen.find((m) => m.msg === 'addedBefore' && m.id === 'a').before, null);
      assert.ok(seen.some((m) => m.msg === 'removed' && m.id === 'c'));

      const grp = d.sub('board', [{ pipeline: [{ $group: { _id: null, total: { $sum: '$pts' } } }], as: 'totals' }]);
      await waitFor(() => seen.some((m) => m.msg === 'ready' && m.subs.includes(grp)), 'group ready');
      const total = () => seen.filter((m) => m.collection === 'totals' && m.fields && 'total' in m.fields).pop().fields.total;
      assert.strictEqual(total(), 12);
      await call('/board/remove', [{ _id: 'b' }]);
      await waitFor(() => total() === 7, 'total after removal');

      await call('publish', ['players', { _id: 'b', name: 'Bea' }]);
      const joined = d.sub('board', [{ pipeline: [{ $lookup: { from: 'players', localField: '_id', foreignField: '_id', as: 'p' } }], as: 'withNames' }]);
      await waitFor(() => seen.some((m) => m.msg === 'ready' && m.subs.includes(joined)), 'join ready');
      await call('publish', ['players', { _id: 'a', name: 'Ann' }]);
      await waitFor(() => seen.some((m) => m.msg === 'changed' && m.collection === 'withNames' && m.id === 'a' &&
                                           m.fields.p && m.fields.p[0].name === 'Ann'), 'join follows the other side');
      d.disconnect();
    }],
    ['ddp.js: /sockjs/websocket works too', async () => {
      const d = new DDP({ endpoint: `ws://127.0.0.1:${port}/sockjs/websocket`, SocketConstructor: WS,
                          autoReconnect: false });
      let connected = false;
      d.on('connected', () => { connected = true; });
      await waitFor(() => connected, 'connected');
      d.disconnect();
    }],
  ];
  let failed = await run(cases);
  if (unexpected.length) {
    console.log('unexpected unhandled rejections:', unexpected);
    failed++;
  }
  await finish(proc, failed);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
