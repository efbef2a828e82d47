// Shared helpers for the npm-client tests: start a server binary on an
// ephemeral port, wait for events with deadlines, run named test cases.
'use strict';
const { spawn } = require('child_process');
const assert = require('assert');

// opts.logLevel replaces the default 'warn'; opts.stderr, when given,
// receives the server's stderr instead of this process's stderr.
function startServer(binary, args = [], opts = {}) {
  const dataDir = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'ddpd-js-'));
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--port', '0', '--bind', '127.0.0.1', '--log-level', opts.logLevel || 'warn',
                                '--data-dir', dataDir, ...args],
                       { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.on('exit', () => require('fs').rmSync(dataDir, { recursive: true, force: true }));
        resolve({ proc, port: Number(m[1]), dataDir });
      }
    });
    proc.stderr.on('data', (d) => (opts.stderr ? opts.stderr(d) : process.stderr.write(d)));
    proc.on('exit', (code) => reject(new Error('server exited with ' + code + ': ' + out)));
  });
}

// Resolves once cond() is true; polls the event loop, fails after ms.
async function waitFor(cond, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function run(cases) {
  let failed = 0;
  for (const [name, fn] of cases) {
    const started = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack : JSON.stringify(e)}`);
    }
  }
  console.log(`${cases.length - failed}/${cases.length} passed`);
  return failed;
}

// Stops the server and exits: 1 when a case failed or the server did not
// exit cleanly on SIGTERM.
async function finish(proc, failed, cleanup = () => {}) {
  proc.kill('SIGTERM');
  const code = await new Promise((r) => proc.on('exit', (c) => r(c)));
  cleanup();
  if (code !== 0) {
    console.log('test server exit code ' + code);
    process.exit(1);
  }
  process.exit(failed ? 1 : 0);
}

// HS256 JWTs signed with Node's crypto, with the issuer and audience the
// npm tests start the server with.
const crypto = require('crypto');
const b64url = (s) => Buffer.from(s).toString('base64url');
function jwt(claims, { header = { alg: 'HS256', typ: 'JWT' }, secret = JWT_SECRET } = {}) {
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${sig}`;
}
const JWT_SECRET = 'an-hs256-secret-for-the-npm-tests-0123456789';
const now = () => Math.floor(Date.now() / 1000);
const claims = (sub, extra = {}) => ({ sub, iss: 'idp', aud: 'app', exp: now() + 600, ...extra });

// A file holding the secret, and the flags that make the server use it.
function jwtFlags() {
  const fs = require('fs');
  const path = require('path');
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'ddpd-jwt-'));
  fs.writeFileSync(path.join(dir, 'secret'), JWT_SECRET + '\n', { mode: 0o600 });
  return { dir, flags: ['--jwt-secret-file', path.join(dir, 'secret'), '--jwt-issuer', 'idp',
                        '--jwt-audience', 'app'] };
}

module.exports = { startServer, waitFor, run, finish, assert, jwt, claims, now, jwtFlags, JWT_SECRET };
