// The admin page (/admin) in a real browser: Debian's Chromium, headless,
// driven by puppeteer-core. The page loads, goes live over DDP, shows a
// topic after a write and follows later writes and a new live query
// without a reload; a screenshot is kept ($DDPD_ARTIFACTS/admin.png).
// With logins configured, its data is for the admin role only: anonymous
// 401, another role 403, and the page's login form with an admin's JWT.
//
//   node tests/js/admin.js build/bin/test_server
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');
const { startServer, waitFor, run, finish, assert, jwt, claims, jwtFlags } = require('./harness');
const DDP = require('ddp.js').default;
const WS = require('ws');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function ddp(port) {
  const d = new DDP({ endpoint: `ws://127.0.0.1:${port}/websocket`, SocketConstructor: WS, autoReconnect: false });
  const results = {};
  const nosubs = {};
  const ready = new Set();
  d.on('result', (m) => { results[m.id] = m; });
  d.on('nosub', (m) => { nosubs[m.id] = m; });
  d.on('ready', (m) => m.subs.forEach((s) => ready.add(s)));
  let connected = false;
  d.on('connected', () => { connected = true; });
  return {
    d, results, nosubs, ready,
    connected: () => waitFor(() => connected, 'connected'),
    call: async (name, params) => {
      const id = d.method(name, params);
      await waitFor(() => results[id], name);
      assert.ok(!results[id].error, JSON.stringify(results[id].error));
      return results[id].result;
    },
  };
}

async function main() {
  const artifacts = process.env.DDPD_ARTIFACTS || os.tmpdir();
  fs.mkdirSync(artifacts, { recursive: true });
  const open = await startServer(process.argv[2], ['--admin=true']);
  const plain = await startServer(process.argv[2], []);
  const secret = jwtFlags();
  const guarded = await startServer(process.argv[2], [...secret.flags, '--admin=true']);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ddpd-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           `--user-data-dir=${profile}`],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const text = (sel) => page.$eval(sel, (e) => e.textContent).catch(() => null);
  const until = (fn, what, ms = 10000) => page.waitForFunction(fn, { timeout: ms }).catch((e) => {
    throw new Error(`waiting for ${what}: ${e.message}`);
  });

  const cases = [
    ['the page and its files, with a content security policy; off without --admin', async () => {
      const r = await fetch(`http://127.0.0.1:${open.port}/admin`);
      assert.strictEqual(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
      assert.strictEqual((await fetch(`http://127.0.0.1:${open.port}/admin/app.js`)).status, 200);
      assert.strictEqual((await fetch(`http://127.0.0.1:${open.port}/admin/nope`)).status, 404);
      assert.strictEqual((await fetch(`http://127.0.0.1:${open.port}/admin`, { method: 'POST' })).status, 405);
      assert.strictEqual((await fetch(`http://127.0.0.1:${plain.port}/admin`)).status, 404);
    }],
    ['Chromium: live, shows a topic after a write, follows writes and a new query without a reload', async () => {
      await page.goto(`http://127.0.0.1:${open.port}/admin`, { waitUntil: 'load' });
      await until(() => document.getElementById('status').textContent === 'live', 'live');
      await page.evaluate(() => { window.notReloaded = true; });
      const c = ddp(open.port);
      await c.connected();
      await c.call('/admin.demo/insert', [{ _id: 'a', n: 1 }]);
      await until(() => {
        const row = document.querySelector('tr[data-topic="admin.demo"]');
        return row && row.cells[1].textContent === '1';
      }, 'the topic with one document');
      await c.call('/admin.demo/insert', [{ _id: 'b', n: 2 }]);
      await c.call('/admin.demo/insert', [{ _id: 'c', n: 3 }]);
      await until(() => {
        const row = document.querySelector('tr[data-topic="admin.demo"]');
        return row && row.cells[1].textContent === '3' && row.cells[2].textContent === '3';
      }, 'three documents, three writes');
      // A live $group query appears among the evaluations, with its graph.
      c.d.sub('admin.demo', [{ pipeline: [{ $match: { n: { $gt: 0 } } }, { $group: { _id: null, total: { $sum: '$n' } } }], as: 'totals' }]);
      await until(() => [...document.querySelectorAll('#evaluations td.graph')].some(
        (td) => /admin\.demo.*\$match.*\$group.*1 subscriber/.test(td.textContent)), 'the $group evaluation');
      assert.strictEqual(await text('#evaluations tbody tr td:nth-child(2)'), 'group');
      await until(() => document.querySelector('#server dd[data-field="connections"]') &&
                        Number(document.querySelector('#server dd[data-field="connections"]').textContent) >= 2,
                  'the connections figure');
      assert.ok(await page.evaluate(() => window.notReloaded === true), 'no reload happened');
      await page.screenshot({ path: path.join(artifacts, 'admin.png'), fullPage: true });
      c.d.disconnect();
      assert.deepStrictEqual(pageErrors, []);
    }],
    ['with logins: anonymous 401, another role 403, an admin sees it; the page logs in', async () => {
      const anon = ddp(guarded.port);
      await anon.connected();
      const s1 = anon.d.sub('ddpd.admin', []);
      await waitFor(() => anon.nosubs[s1], 'nosub');
      assert.strictEqual(anon.nosubs[s1].error.error, 401);
      await anon.call('login', [{ jwt: jwt(claims('u1', { roles: ['reader'] })) }]);
      const s2 = anon.d.sub('ddpd.admin', []);
      await waitFor(() => anon.nosubs[s2], 'nosub');
      assert.strictEqual(anon.nosubs[s2].error.error, 403);
      anon.d.disconnect();
      const admin = ddp(guarded.port);
      await admin.connected();
      await admin.call('login', [{ jwt: jwt(claims('boss', { roles: 'admin' })) }]);
      const s3 = admin.d.sub('ddpd.admin', []);
      await waitFor(() => admin.ready.has(s3), 'ready');
      admin.d.disconnect();

      await page.goto(`http://127.0.0.1:${guarded.port}/admin`, { waitUntil: 'load' });
      await until(() => !document.getElementById('login').hidden, 'the login form');
      await page.type('#token', jwt(claims('boss', { roles: ['ops', 'admin'] })));
      await page.click('#login button');
      await until(() => document.getElementById('status').textContent === 'live', 'live after the login');
      assert.strictEqual(await page.$eval('#login', (e) => e.hidden), true);
    }],
  ];
  const failed = await run(cases);
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
  plain.proc.kill('SIGTERM');
  guarded.proc.kill('SIGTERM');
  await finish(open.proc, failed, () => fs.rmSync(secret.dir, { recursive: true, force: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
