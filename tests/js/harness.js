// Shared helpers for the npm-client tests: start a server binary on an
// ephemeral port, wait for events with deadlines, run named test cases.
'use strict';
const { spawn } = require('child_process');
const assert = require('assert');

function startServer(binary, args = []) {
  const dataDir = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'ddpd-js-'));
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--port', '0', '--bind', '127.0.0.1', '--log-level', 'warn',
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
    proc.stderr.on('data', (d) => process.stderr.write(d));
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

module.exports = { startServer, waitFor, run, assert };
