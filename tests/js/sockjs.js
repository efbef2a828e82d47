// SockJS, as Meteor's browser client speaks it (without DISABLE_SOCKJS):
// the real sockjs-client from npm over its WebSocket transport, carrying
// DDP; /sockjs/info with its CORS answers; and the framing checked with a
// raw WebSocket (several messages in one frame, a broken frame).
//
//   node tests/js/sockjs.js build/bin/test_server
'use strict';
const { startServer, waitFor, run, finish, assert } = require('./harness');
const SockJS = require('sockjs-client');
const WS = require('ws');

async function main() {
  const { proc, port } = await startServer(process.argv[2]);
  const base = `http://127.0.0.1:${port}`;

  // A DDP client over a SockJS socket: messages are JSON texts both ways.
  function ddpOver(sock) {
    const received = [];
    sock.onmessage = (e) => received.push(JSON.parse(e.data));
    const send = (m) => sock.send(JSON.stringify(m));
    return { received, send };
  }

  const cases = [
    ['GET /sockjs/info: WebSocket on, any origin, no cookie; OPTIONS preflight', async () => {
      const r = await fetch(`${base}/sockjs/info`, { headers: { Origin: 'https://app.example' } });
      assert.strictEqual(r.status, 200);
      const info = await r.json();
      assert.strictEqual(info.websocket, true);
      assert.strictEqual(info.cookie_needed, false);
      assert.deepStrictEqual(info.origins, ['*:*']);
      assert.ok(Number.isInteger(info.entropy));
      assert.strictEqual(r.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.strictEqual(r.headers.get('access-control-allow-credentials'), 'true');
      assert.match(r.headers.get('cache-control'), /no-store/);
      const pre = await fetch(`${base}/sockjs/info`, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } });
      assert.strictEqual(pre.status, 204);
      assert.match(pre.headers.get('access-control-allow-methods'), /GET/);
      assert.strictEqual((await fetch(`${base}/sockjs/info`, { method: 'POST' })).status, 405);
    }],
    ...['websocket', 'xhr-streaming', 'xhr-polling'].map((transport) => [
      `sockjs-client over ${transport}: connect, subscribe, write, live added, many messages`, async () => {
      const sock = new SockJS(`${base}/sockjs`, null, { transports: [transport] });
      let open = false;
      sock.onopen = () => { open = true; };
      await waitFor(() => open, 'open');
      assert.strictEqual(sock.transport, transport);
      const d = ddpOver(sock);
      d.send({ msg: 'connect', version: '1', support: ['1'] });
      await waitFor(() => d.received.some((m) => m.msg === 'connected'), 'connected');
      const topic = `sockjs.${transport.replace('-', '_')}`;
      d.send({ msg: 'sub', id: 's1', name: topic, params: [] });
      await waitFor(() => d.received.some((m) => m.msg === 'ready'), 'ready');
      const text = 'quotes " and \\ backslashes, \u00e9, \u2028 and \n lines';
      d.send({ msg: 'method', id: 'm1', method: `/${topic}/insert`, params: [{ _id: 'n1', text }] });
      await waitFor(() => d.received.some((m) => m.msg === 'result' && m.id === 'm1'), 'result');
      await waitFor(() => d.received.some((m) => m.msg === 'updated'), 'updated');
      const added = d.received.find((m) => m.msg === 'added' && m.id === 'n1');
      assert.ok(added, 'the live added');
      assert.strictEqual(added.fields.text, text);
      d.send({ msg: 'ping', id: 'p' });
      await waitFor(() => d.received.some((m) => m.msg === 'pong' && m.id === 'p'), 'pong');
      // Enough to need several polls, and more than one stream (128 KiB
      // each), in order and complete.
      const big = 'x'.repeat(2000);
      for (let i = 0; i < 200; i++) {
        d.send({ msg: 'method', id: `b${i}`, method: `/${topic}/insert`, params: [{ _id: `b${i}`, i, big }] });
      }
      await waitFor(() => d.received.filter((m) => m.msg === 'added' && m.id.startsWith('b')).length === 200 &&
                    d.received.filter((m) => m.msg === 'result').length === 201,
                    'the 200 documents and results', 20000);
      const order = d.received.filter((m) => m.msg === 'added' && m.id.startsWith('b')).map((m) => m.fields.i);
      assert.deepStrictEqual(order, [...Array(200).keys()]);
      assert.strictEqual(new Set(d.received.filter((m) => m.msg === 'result').map((m) => m.id)).size, 201);
      let closed = null;
      sock.onclose = (e) => { closed = e; };
      sock.close();
      await waitFor(() => closed !== null, 'close');
    }]),
    ['XHR by hand: xhr_send errors, one poll at a time, the close frame, the session ends without polls', async () => {
      const post = async (path, body) => {
        const r = await fetch(`${base}/sockjs/9/${path}`, { method: 'POST', body });
        return [r.status, await r.text()];
      };
      assert.deepStrictEqual(await post('nosuch/xhr_send', '["x"]'), [404, 'no such SockJS session']);
      assert.deepStrictEqual(await post('h1/xhr', undefined), [200, 'o\n']);
      assert.deepStrictEqual(await post('h1/xhr_send', ''), [500, 'Payload expected.']);
      assert.deepStrictEqual(await post('h1/xhr_send', '[not json'), [500, 'Broken JSON encoding.']);
      assert.deepStrictEqual(await post('h1/xhr_send', '[1,2]'), [500, 'Broken JSON encoding.']);
      const connect = JSON.stringify([JSON.stringify({ msg: 'connect', version: '1', support: ['1'] })]);
      assert.deepStrictEqual(await post('h1/xhr_send', connect), [204, '']);
      const [status, text] = await post('h1/xhr', undefined);
      assert.strictEqual(status, 200);
      assert.match(text, /^a\[.*connected.*\]\n$/);
      // A poll is held while nothing is to be said; a second one is refused.
      const held = post('h1/xhr', undefined);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepStrictEqual(await post('h1/xhr', undefined), [200, 'c[2010,"Another connection still open"]\n']);
      const ping = JSON.stringify([JSON.stringify({ msg: 'ping', id: 'q' })]);
      assert.strictEqual((await post('h1/xhr_send', ping))[0], 204);
      assert.match((await held)[1], /pong/);
      // A DDP version nobody speaks: `failed`, then the session closes;
      // every later poll gets the close frame.
      assert.deepStrictEqual(await post('h3/xhr', undefined), [200, 'o\n']);
      const bad = JSON.stringify([JSON.stringify({ msg: 'connect', version: 'nope', support: ['nope'] })]);
      assert.strictEqual((await post('h3/xhr_send', bad))[0], 204);
      assert.match((await post('h3/xhr', undefined))[1], /failed/);
      assert.match((await post('h3/xhr', undefined))[1], /^c\[1000,/);
      assert.strictEqual((await post('h3/xhr_send', ping))[0], 404);
      // A session nobody polls ends after 5 s; its id is then new again.
      assert.deepStrictEqual(await post('h2/xhr', undefined), [200, 'o\n']);
      await new Promise((r) => setTimeout(r, 5500));
      assert.match((await post('h2/xhr', undefined))[1], /^c\[1001,"SockJS client went away"\]\n$/);
      await new Promise((r) => setTimeout(r, 5500));
      assert.deepStrictEqual(await post('h2/xhr', undefined), [200, 'o\n']);
      const pre = await fetch(`${base}/sockjs/9/h2/xhr_send`, { method: 'OPTIONS', headers: { Origin: 'https://a.example' } });
      assert.strictEqual(pre.status, 204);
      assert.strictEqual(pre.headers.get('access-control-allow-origin'), 'https://a.example');
      assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
    }],
    ['raw WebSocket: "o" first, several messages in one frame, a broken frame closes with 1002', async () => {
      const ws = new WS(`ws://127.0.0.1:${port}/sockjs/123/abcdef/websocket`);
      const frames = [];
      let closedWith = null;
      ws.on('message', (data) => frames.push(String(data)));
      ws.on('close', (code, reason) => { closedWith = [code, String(reason)]; });
      await new Promise((r) => ws.on('open', r));
      await waitFor(() => frames.length >= 1, 'the open frame');
      assert.strictEqual(frames[0], 'o');
      ws.send(JSON.stringify([JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }),
                              JSON.stringify({ msg: 'ping', id: 'x' })]));
      await waitFor(() => frames.length >= 3, 'two answers');
      const msgs = frames.slice(1).map((f) => {
        assert.ok(f.startsWith('a['), f);
        return JSON.parse(f.slice(1)).map((m) => JSON.parse(m));
      }).flat();
      assert.strictEqual(msgs[0].msg, 'connected');
      assert.deepStrictEqual(msgs[1], { msg: 'pong', id: 'x' });
      ws.send('{"msg":"not in an array"}');
      await waitFor(() => closedWith !== null, 'the close');
      assert.strictEqual(frames[frames.length - 1], 'c[1002,"broken SockJS framing"]');
      assert.deepStrictEqual(closedWith, [1002, 'broken SockJS framing']);
    }],
    ['the raw /sockjs/websocket endpoint (DISABLE_SOCKJS) keeps plain DDP', async () => {
      const ws = new WS(`ws://127.0.0.1:${port}/sockjs/websocket`);
      const frames = [];
      ws.on('message', (data) => frames.push(String(data)));
      await new Promise((r) => ws.on('open', r));
      ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
      await waitFor(() => frames.some((f) => f.includes('connected')), 'connected');
      assert.strictEqual(JSON.parse(frames.find((f) => f.includes('connected'))).msg, 'connected');
      ws.close();
    }],
    ['ids with dots or missing parts are not SockJS endpoints', async () => {
      for (const path of ['/sockjs/1.2/abc/websocket', '/sockjs/1/a.b/websocket', '/sockjs//abc/websocket']) {
        const ws = new WS(`ws://127.0.0.1:${port}${path}`);
        const status = await new Promise((r) => {
          ws.on('unexpected-response', (req, res) => r(res.statusCode));
          ws.on('open', () => r('opened'));
          ws.on('error', () => {});
        });
        assert.strictEqual(status, 404, path);
      }
    }],
  ];
  const failed = await run(cases);
  await finish(proc, failed);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
