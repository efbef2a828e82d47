// WebSocket conformance of ddpd's own frame reader and writer, in the
// spirit of the Autobahn test suite (RFC 6455): framing at every length
// boundary, fragmentation with control frames between fragments, ping/pong,
// reserved bits and opcodes, close codes and reasons, invalid UTF-8 at every
// position (whole and fragmented), masking, size limits and the opening
// handshake. Frames are built byte by byte on a raw TCP socket. Each case
// names the section of Autobahn's suite it follows; deviations are listed
// in docs/RELIABILITY.md ("WebSocket conformance").
//
//   node tests/js/ws_conformance.js build/bin/test_server
'use strict';
const net = require('net');
const crypto = require('crypto');
const { startServer, run, finish, assert } = require('./harness');

const MAX_MESSAGE = 64 * 1024;  // --max-message-bytes for this run

// A raw client: frames in, frames out, nothing hidden.
class Raw {
  static open(port, { path = '/websocket', headers = {}, method = 'GET' } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const key = headers['Sec-WebSocket-Key'] ?? crypto.randomBytes(16).toString('base64');
      const h = {
        Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade',
        'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', ...headers,
      };
      let req = `${method} ${path} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(h)) if (v !== null) req += `${k}: ${v}\r\n`;
      sock.write(req + '\r\n');
      let buf = Buffer.alloc(0);
      const onData = (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        const head = buf.subarray(0, end).toString('latin1');
        const [statusLine, ...lines] = head.split('\r\n');
        const status = Number(statusLine.split(' ')[1]);
        const hdrs = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        resolve(new Raw(sock, status, hdrs, key, buf.subarray(end + 4)));
      };
      sock.on('data', onData);
      sock.on('error', reject);
    });
  }

  constructor(sock, status, headers, key, rest) {
    this.sock = sock;
    this.status = status;
    this.headers = headers;
    this.key = key;
    this.buf = rest;
    this.frames = [];
    this.ended = false;
    this.waiters = [];
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    sock.on('end', () => { this.ended = true; this.wake(); });
    sock.on('close', () => { this.ended = true; this.wake(); });
    sock.on('error', () => { this.ended = true; this.wake(); });
    this.parse();
  }

  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = b[1] & 0x7f, off = 2;
      if (b[1] & 0x80) throw new Error('the server masked a frame');
      if (len === 126) { if (b.length < 4) break; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) break; len = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b.length < off + len) break;
      this.frames.push({ fin: !!(b[0] & 0x80), rsv: (b[0] >> 4) & 7, opcode: b[0] & 0x0f,
                         payload: b.subarray(off, off + len) });
      this.buf = b.subarray(off + len);
    }
    this.wake();
  }

  wake() { for (const w of this.waiters.splice(0)) w(); }

  // The next frame from the server; null when the connection ended first.
  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no frame from the server within ' + ms + ' ms');
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, left); });
    }
    return this.frames.shift();
  }

  // Sends one frame. opts: fin, rsv, mask (default true), len (a false
  // length to declare), key.
  frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = true, len, key } = {}) {
    payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const n = len ?? payload.length;
    const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode)];
    const m = mask ? 0x80 : 0;
    let ext = Buffer.alloc(0);
    if (n < 126) head.push(m | n);
    else if (n < 65536) { head.push(m | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(n); }
    else { head.push(m | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(BigInt(n)); }
    let body = payload;
    let maskKey = Buffer.alloc(0);
    if (mask) {
      maskKey = key ?? crypto.randomBytes(4);
      body = Buffer.from(payload.map((c, i) => c ^ maskKey[i % 4]));
    }
    this.sock.write(Buffer.concat([Buffer.from(head), ext, maskKey, body]));
  }

  text(s, opts) { this.frame(0x1, Buffer.from(s), opts); }
  send(obj) { this.text(JSON.stringify(obj)); }

  // The next DDP message, answering nothing; skips pongs of our pings.
  async ddp(ms = 5000) {
    for (;;) {
      const f = await this.next(ms);
      if (f === null) throw new Error('closed while waiting for a DDP message');
      if (f.opcode === 0x1) return JSON.parse(f.payload.toString('utf8'));
      if (f.opcode === 0x8) throw new Error('closed: ' + describeClose(f));
    }
  }

  async connect() {
    this.send({ msg: 'connect', version: '1', support: ['1'] });
    for (;;) {
      const m = await this.ddp();
      if (m.msg === 'connected') return m;
    }
  }

  // A DDP ping whose id pads the message; resolves when its pong arrives.
  async ddpPing(id) {
    this.send({ msg: 'ping', id });
    for (;;) {
      const m = await this.ddp();
      if (m.msg === 'pong') { assert.strictEqual(m.id, id); return; }
    }
  }

  // The server's close frame, then the end of the TCP connection.
  async expectClose(code, ms = 5000) {
    for (;;) {
      const f = await this.next(ms);
      if (f === null) throw new Error(`connection ended without a close frame (expected ${code})`);
      if (f.opcode !== 0x8) continue;  // messages sent before the close
      const got = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
      assert.strictEqual(got, code, `close code ${got} (${describeClose(f)}), expected ${code}`);
      // The reason, if any, is UTF-8 and fits a control frame.
      assert.ok(f.payload.length <= 125);
      assert.strictEqual(Buffer.from(f.payload.subarray(2).toString('utf8')).length, f.payload.length - 2 || 0);
      await this.expectEnd(ms);
      return f;
    }
  }

  async expectEnd(ms = 5000) {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('the server did not close the TCP connection');
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  destroy() { this.sock.destroy(); }
}

function describeClose(f) {
  if (f.payload.length < 2) return 'no code';
  return `${f.payload.readUInt16BE(0)} ${f.payload.subarray(2).toString('utf8')}`;
}

function closePayload(code, reason = Buffer.alloc(0)) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);
}

// A DDP ping message of exactly n bytes (n >= 26).
function pingOfSize(n) {
  const shell = JSON.stringify({ msg: 'ping', id: '' });
  return JSON.stringify({ msg: 'ping', id: 'p'.repeat(n - shell.length) });
}

async function main() {
  const { proc, port } = await startServer(process.argv[2], ['--max-message-bytes', String(MAX_MESSAGE)]);
  const open = async (opts) => {
    const c = await Raw.open(port, opts);
    assert.strictEqual(c.status, 101);
    return c;
  };
  const connected = async () => {
    const c = await open();
    await c.connect();
    return c;
  };
  // Runs fn on a connected client, then checks the connection still works.
  const stillWorks = async (c) => { await c.ddpPing('still-works'); c.destroy(); };

  const cases = [];
  const add = (name, fn) => cases.push([name, fn]);

  // ---- 1. Framing: text messages at every length boundary --------------
  add('1.1 text messages of 26..127, 65535, 65536 bytes and the limit arrive whole', async () => {
    const c = await connected();
    for (const n of [26, 100, 125, 126, 127, 128, 1000, 65535, 65536, MAX_MESSAGE]) {
      const text = pingOfSize(n);
      assert.strictEqual(Buffer.byteLength(text), n);
      c.text(text);
      const m = await c.ddp();
      assert.strictEqual(m.msg, 'pong');
      assert.strictEqual(m.id.length, JSON.parse(text).id.length, `size ${n}`);
    }
    await stillWorks(c);
  });
  add('1.2 binary messages are refused with 1003 (DDP is text)', async () => {
    const c = await connected();
    c.frame(0x2, Buffer.from([0, 1, 2, 255]));
    await c.expectClose(1003);
  });
  add('1.3 an empty text message is a DDP error, not a frame error', async () => {
    const c = await connected();
    c.text('');
    const m = await c.ddp();
    assert.strictEqual(m.msg, 'error');
    await stillWorks(c);
  });

  // ---- 2. Pings and pongs -------------------------------------------------
  add('2.1-2.3 a ping of 0, 1, 125 bytes (text or binary) is answered with the same payload', async () => {
    const c = await connected();
    const bin = Buffer.from([...Array(125).keys()].map((i) => (i * 7) & 0xff));
    for (const p of [Buffer.alloc(0), Buffer.from('x'), Buffer.from('Hello, world!'), bin]) {
      c.frame(0x9, p);
      const f = await c.next();
      assert.strictEqual(f.opcode, 0xa);
      assert.ok(f.fin);
      assert.deepStrictEqual(f.payload, p);
    }
    await stillWorks(c);
  });
  add('2.5 a ping of 126 bytes is a protocol error (1002)', async () => {
    const c = await connected();
    c.frame(0x9, Buffer.alloc(126, 0x41));
    await c.expectClose(1002);
  });
  add('2.6 a ping sent one byte at a time is answered', async () => {
    const c = await connected();
    const key = crypto.randomBytes(4);
    const payload = Buffer.from('fragmented-write');
    const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
    const bytes = Buffer.concat([Buffer.from([0x89, 0x80 | payload.length]), key, masked]);
    for (const b of bytes) {
      c.sock.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 1));
    }
    const f = await c.next();
    assert.strictEqual(f.opcode, 0xa);
    assert.deepStrictEqual(f.payload, payload);
    await stillWorks(c);
  });
  add('2.7-2.8 unsolicited pongs are ignored', async () => {
    const c = await connected();
    c.frame(0xa);
    c.frame(0xa, Buffer.from('unsolicited'));
    await stillWorks(c);
  });
  add('2.9 a pong answering an earlier ping is ignored; 2.10 ten pings get ten pongs in order', async () => {
    const c = await connected();
    for (let i = 0; i < 10; i++) c.frame(0x9, Buffer.from('ping-' + i));
    for (let i = 0; i < 10; i++) {
      const f = await c.next();
      assert.strictEqual(f.opcode, 0xa);
      assert.strictEqual(f.payload.toString(), 'ping-' + i);
    }
    await stillWorks(c);
  });

  // ---- 3. Reserved bits (no extension negotiated) ------------------------
  for (const [rsv, opcode, what] of [[1, 0x1, 'text'], [2, 0x1, 'text'], [4, 0x1, 'text'],
                                     [3, 0x9, 'ping'], [5, 0x2, 'binary'], [6, 0x8, 'close'],
                                     [7, 0x1, 'text']]) {
    add(`3.x RSV=${rsv} on a ${what} frame is a protocol error (1002)`, async () => {
      const c = await connected();
      c.frame(opcode, opcode === 0x8 ? closePayload(1000) : Buffer.from('{"msg":"ping"}'), { rsv });
      await c.expectClose(1002);
    });
  }

  // ---- 4. Opcodes ------------------------------------------------------
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    add(`4.x reserved opcode ${op} is a protocol error (1002)`, async () => {
      const c = await connected();
      c.frame(op, Buffer.from('reserved'));
      await c.expectClose(1002);
    });
  }

  // ---- 5. Fragmentation --------------------------------------------------
  add('5.1-5.2 a ping or close cannot be fragmented (1002)', async () => {
    const c = await connected();
    c.frame(0x9, Buffer.from('frag'), { fin: false });
    c.frame(0x0, Buffer.from('ment'));
    await c.expectClose(1002);
    const d = await connected();
    d.frame(0x8, closePayload(1000).subarray(0, 1), { fin: false });
    d.frame(0x0, closePayload(1000).subarray(1));
    await d.expectClose(1002);
  });
  add('5.3-5.5 a text message in 2, 3 and one-byte fragments arrives whole', async () => {
    const c = await connected();
    const text = Buffer.from(pingOfSize(200));
    for (const parts of [2, 3, text.length]) {
      const size = Math.ceil(text.length / parts);
      for (let i = 0, k = 0; i < text.length; i += size, k++) {
        c.frame(k === 0 ? 0x1 : 0x0, text.subarray(i, i + size), { fin: i + size >= text.length });
      }
      const m = await c.ddp();
      assert.strictEqual(m.msg, 'pong', `${parts} fragments`);
    }
    await stillWorks(c);
  });
  add('5.6-5.9 pings between fragments are answered at once and the message still arrives', async () => {
    const c = await connected();
    const text = Buffer.from(pingOfSize(60));
    c.frame(0x1, text.subarray(0, 20), { fin: false });
    c.frame(0x9, Buffer.from('between-1'));
    c.frame(0x0, text.subarray(20, 40), { fin: false });
    c.frame(0x9, Buffer.from('between-2'));
    c.frame(0xa, Buffer.from('a pong too'));
    c.frame(0x0, text.subarray(40));
    const f1 = await c.next();
    const f2 = await c.next();
    assert.deepStrictEqual([f1.opcode, f1.payload.toString(), f2.opcode, f2.payload.toString()],
                           [0xa, 'between-1', 0xa, 'between-2']);
    const m = await c.ddp();
    assert.strictEqual(m.msg, 'pong');
    await stillWorks(c);
  });
  add('5.10-5.12 a continuation frame without a message is a protocol error (1002)', async () => {
    const c = await connected();
    c.frame(0x0, Buffer.from('orphan'), { fin: true });
    await c.expectClose(1002);
    const d = await connected();
    d.frame(0x0, Buffer.from('orphan'), { fin: false });
    await d.expectClose(1002);
  });
  add('5.18 a new text frame inside a fragmented message is a protocol error (1002)', async () => {
    const c = await connected();
    c.frame(0x1, Buffer.from('{"msg":'), { fin: false });
    c.frame(0x1, Buffer.from('"ping"}'), { fin: true });
    await c.expectClose(1002);
  });
  add('5.19-5.20 a close inside a fragmented message ends the connection cleanly (1000)', async () => {
    const c = await connected();
    c.frame(0x1, Buffer.from('{"msg":'), { fin: false });
    c.frame(0x8, closePayload(1000));
    await c.expectClose(1000);
  });
  add('5.x a fragmented message past the size limit is refused with 1009', async () => {
    const c = await connected();
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    for (let i = 0; i < 5; i++) c.frame(i === 0 ? 0x1 : 0x0, chunk, { fin: false });
    await c.expectClose(1009);
  });

  // ---- 6. UTF-8 ----------------------------------------------------------
  const greek = 'κόσμε';  // Autobahn 6.2's sample text
  add('6.2-6.5 valid UTF-8 (2, 3 and 4-byte characters) passes whole and split at every byte', async () => {
    const c = await connected();
    const id = `${greek} €𝄞 ﻿ \u{10FFFF}`;
    await c.ddpPing(id);
    const text = Buffer.from(JSON.stringify({ msg: 'ping', id }));
    // One fragment boundary at every byte position, splitting characters.
    for (let cut = 1; cut < text.length; cut++) {
      c.frame(0x1, text.subarray(0, cut), { fin: false });
      c.frame(0x0, text.subarray(cut));
      const m = await c.ddp();
      assert.strictEqual(m.id, id, `cut at ${cut}`);
    }
    await stillWorks(c);
  });
  const invalid = {
    'a lone continuation byte': Buffer.from([0x80]),
    'a lone start byte': Buffer.from([0xc3]),
    'an overlong "/"': Buffer.from([0xc0, 0xaf]),
    'an overlong NUL (3 bytes)': Buffer.from([0xe0, 0x80, 0x80]),
    'a UTF-16 surrogate': Buffer.from([0xed, 0xa0, 0x80]),
    'a code point past U+10FFFF': Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    'the byte 0xFE': Buffer.from([0xfe]),
    'the byte 0xFF': Buffer.from([0xff]),
    'a truncated 4-byte sequence': Buffer.from([0xf0, 0x9d, 0x84]),
  };
  for (const [what, bad] of Object.entries(invalid)) {
    add(`6.x ${what} in a text message is refused with 1007`, async () => {
      const c = await connected();
      c.text(Buffer.concat([Buffer.from('{"msg":"ping","id":"'), bad, Buffer.from('"}')]));
      await c.expectClose(1007);
    });
  }
  add('6.x an invalid byte at every position of a message, whole or fragmented there, gets 1007', async () => {
    const good = Buffer.from(JSON.stringify({ msg: 'ping', id: greek }));
    for (let at = 0; at < good.length; at++) {
      for (const fragmented of [false, true]) {
        const bad = Buffer.from(good);
        bad[at] = 0xff;
        const c = await connected();
        if (fragmented && at > 0) {
          c.frame(0x1, bad.subarray(0, at), { fin: false });
          c.frame(0x0, bad.subarray(at));
        } else {
          c.text(bad);
        }
        await c.expectClose(1007);
      }
    }
  });
  add('6.x a fragmented message whose first fragment is already invalid is refused before it ends', async () => {
    const c = await connected();
    c.frame(0x1, Buffer.from([0x7b, 0xff]), { fin: false });  // "{" then 0xFF: no UTF-8 can follow
    const f = await c.expectClose(1007);
    assert.ok(f);
  });

  // ---- 7. Close handling ------------------------------------------------
  add('7.1 a close without a payload is answered and the server closes TCP', async () => {
    const c = await connected();
    c.frame(0x8);
    const f = await c.next();
    assert.strictEqual(f.opcode, 0x8);
    assert.ok(f.payload.length === 0 || f.payload.readUInt16BE(0) === 1000);
    await c.expectEnd();
  });
  add('7.1.x frames after the close are ignored', async () => {
    const c = await connected();
    c.frame(0x8, closePayload(1000));
    c.send({ msg: 'ping', id: 'after-close' });
    c.frame(0x9, Buffer.from('after-close'));
    const f = await c.next();
    assert.strictEqual(f.opcode, 0x8, 'the first frame after our close is the close answer');
    await c.expectEnd();
  });
  add('7.3 a close with a 1-byte payload is a protocol error (1002)', async () => {
    const c = await connected();
    c.frame(0x8, Buffer.from([0x03]));
    await c.expectClose(1002);
  });
  add('7.3 a close with a 123-byte reason is answered with the same code', async () => {
    const c = await connected();
    c.frame(0x8, closePayload(1000, 'r'.repeat(123)));
    await c.expectClose(1000);
  });
  add('7.5 a close reason that is not UTF-8 is refused with 1007', async () => {
    const c = await connected();
    c.frame(0x8, closePayload(1000, Buffer.from([0x61, 0xff, 0x62])));
    await c.expectClose(1007);
  });
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    add(`7.7 close code ${code} is valid and echoed`, async () => {
      const c = await connected();
      c.frame(0x8, closePayload(code, 'bye'));
      await c.expectClose(code);
    });
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    add(`7.9 close code ${code} is invalid on the wire (1002)`, async () => {
      const c = await connected();
      c.frame(0x8, closePayload(code));
      await c.expectClose(1002);
    });
  }

  // ---- 9. Limits ---------------------------------------------------------
  add('9.x a frame declared longer than --max-message-bytes is refused at its header (1009)', async () => {
    const c = await connected();
    // Only the header is sent: the refusal must not wait for the payload.
    const key = crypto.randomBytes(4);
    const ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(MAX_MESSAGE + 1));
    c.sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | 127]), ext, key]));
    await c.expectClose(1009);
  });
  add('9.x a 64-bit length with the top bit set is a protocol error (1002)', async () => {
    const c = await connected();
    const ext = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1]);
    c.sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | 127]), ext, crypto.randomBytes(4)]));
    await c.expectClose(1002);
  });

  // ---- 10. Masking -------------------------------------------------------
  add('10.x an unmasked client frame is a protocol error (1002)', async () => {
    const c = await connected();
    c.frame(0x1, Buffer.from('{"msg":"ping"}'), { mask: false });
    await c.expectClose(1002);
  });
  add('10.x an all-zero mask key is still a mask', async () => {
    const c = await connected();
    c.frame(0x1, Buffer.from(JSON.stringify({ msg: 'ping', id: 'zero-key' })), { key: Buffer.alloc(4) });
    const m = await c.ddp();
    assert.strictEqual(m.id, 'zero-key');
    await stillWorks(c);
  });

  // ---- 12. The opening handshake ----------------------------------------
  add('12.x the accept key is SHA-1(key + GUID), upgrade headers are case-insensitive', async () => {
    const c = await Raw.open(port, { headers: { Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' } });
    assert.strictEqual(c.status, 101);
    const want = crypto.createHash('sha1').update(c.key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    assert.strictEqual(c.headers['sec-websocket-accept'], want);
    assert.match(c.headers.upgrade, /^websocket$/i);
    assert.strictEqual(c.headers['sec-websocket-extensions'], undefined, 'no extension was offered');
    await c.connect();
    await stillWorks(c);
  });
  add('12.x a missing key, a wrong version or a POST does not upgrade', async () => {
    const noKey = await Raw.open(port, { headers: { 'Sec-WebSocket-Key': null } });
    assert.strictEqual(noKey.status, 400);
    noKey.destroy();
    const v8 = await Raw.open(port, { headers: { 'Sec-WebSocket-Version': '8' } });
    assert.strictEqual(v8.status, 426);
    assert.strictEqual(v8.headers['sec-websocket-version'], '13');
    v8.destroy();
    const post = await Raw.open(port, { method: 'POST' });
    assert.ok(post.status >= 400 && post.status < 500, `POST upgrade: ${post.status}`);
    post.destroy();
  });
  add('12.x frames sent with the request, before the 101 (RFC 6455 says wait), are not lost', async () => {
    // Clients that pipeline their first messages exist; dropping those
    // bytes would leave the session waiting for a connect it was sent.
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const key = crypto.randomBytes(16).toString('base64');
    const frame = (obj) => {
      const p = Buffer.from(JSON.stringify(obj));
      const k = crypto.randomBytes(4);
      return Buffer.concat([Buffer.from([0x81, 0x80 | p.length]), k, Buffer.from(p.map((b, i) => b ^ k[i % 4]))]);
    };
    sock.write(Buffer.concat([
      Buffer.from(`GET /websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
      frame({ msg: 'connect', version: '1', support: ['1'] }),
      frame({ msg: 'ping', id: 'early' })]));
    let got = '';
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer to early frames: ' + JSON.stringify(got))), 5000);
      sock.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('"connected"') && got.includes('"id":"early"')) { clearTimeout(t); resolve(); }
      });
    });
    sock.destroy();
  });
  add('12.x an unknown extension offer is declined, not failed', async () => {
    const c = await Raw.open(port, { headers: { 'Sec-WebSocket-Extensions': 'x-unknown; foo=1' } });
    assert.strictEqual(c.status, 101);
    assert.strictEqual(c.headers['sec-websocket-extensions'], undefined);
    await c.connect();
    await stillWorks(c);
  });

  const failed = await run(cases);
  await finish(proc, failed);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
