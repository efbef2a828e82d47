// The admin page: a DDP client of the server that serves it. It subscribes
// to `ddpd.admin` (server/admin/admin.h) and renders the `ddpd_admin`
// collection as it changes; nothing is polled and nothing reloads.
'use strict';
(function () {
  const docs = new Map();   // id -> fields
  let ws = null;
  let nextId = 1;
  const $ = (id) => document.getElementById(id);

  function send(m) { ws.send(JSON.stringify(m)); }
  function status(text, live) {
    $('status').textContent = text;
    $('status').className = live ? 'status live' : 'status';
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(scheme + location.host + '/websocket');
    ws.onopen = () => send({ msg: 'connect', version: '1', support: ['1'] });
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = () => {
      status('disconnected; reconnecting…', false);
      setTimeout(connect, 1000);
    };
  }

  function subscribe() {
    docs.clear();
    send({ msg: 'sub', id: 'admin' + (nextId++), name: 'ddpd.admin', params: [] });
  }

  function onMessage(m) {
    switch (m.msg) {
      case 'connected': {
        const token = sessionStorage.getItem('ddpd-admin-token');
        if (token) {
          const how = token.split('.').length === 3 ? { jwt: token } : { resume: token };
          send({ msg: 'method', id: 'login', method: 'login', params: [how] });
        } else {
          subscribe();
        }
        break;
      }
      case 'result':
        if (m.id === 'login') {
          if (m.error) {
            sessionStorage.removeItem('ddpd-admin-token');
            $('login-error').textContent = m.error.reason || String(m.error.error);
          } else {
            $('login-error').textContent = '';
          }
          subscribe();
        }
        break;
      case 'ping': send(m.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: m.id }); break;
      case 'ready': status('live', true); $('login').hidden = true; break;
      case 'nosub':
        if (m.error) {
          status(m.error.reason || 'not allowed', false);
          $('login').hidden = false;
        }
        break;
      case 'added':
        if (m.collection === 'ddpd_admin') { docs.set(m.id, m.fields || {}); schedule(); }
        break;
      case 'changed':
        if (m.collection === 'ddpd_admin' && docs.has(m.id)) {
          const d = docs.get(m.id);
          Object.assign(d, m.fields || {});
          for (const k of m.cleared || []) delete d[k];
          schedule();
        }
        break;
      case 'removed':
        if (m.collection === 'ddpd_admin') { docs.delete(m.id); schedule(); }
        break;
    }
  }

  // One render per burst of messages (a refresh is many of them).
  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => { scheduled = false; render(); }, 30);
  }

  const fmt = (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : (v === undefined ? '' : String(v)));
  function cell(tr, v, num) {
    const td = document.createElement('td');
    td.textContent = fmt(v);
    if (num) td.className = 'num';
    tr.appendChild(td);
    return td;
  }
  function rows(kind) {
    return [...docs.entries()].filter(([, d]) => d.kind === kind)
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  }
  function fill(tableId, list, build, emptyText) {
    const body = $(tableId).tBodies[0];
    body.textContent = '';
    if (list.length === 0) {
      const tr = body.insertRow();
      const td = cell(tr, emptyText);
      td.colSpan = $(tableId).tHead.rows[0].cells.length;
      td.className = 'empty';
      return;
    }
    for (const [id, d] of list) {
      const tr = body.insertRow();
      tr.dataset.id = id;
      build(tr, d);
    }
  }

  const labels = [
    ['connections', 'connections'], ['subscriptions', 'subscriptions'], ['evaluations', 'live evaluations'],
    ['messagesInPerSec', 'messages in/s'], ['messagesOutPerSec', 'messages out/s'],
    ['bytesOutPerSec', 'bytes out/s'], ['transactionsPerSec', 'transactions/s'],
    ['documentsWrittenPerSec', 'documents written/s'], ['lastSeq', 'last seq'],
    ['outboundQueuedBytes', 'bytes queued out'], ['slowConsumerCloses', 'slow consumers closed'],
    ['parkedSessions', 'parked sessions'], ['logLag', 'log lag'], ['storageErrors', 'storage errors'],
    ['memtableBytes', 'memtable bytes'], ['pendingCompactionBytes', 'pending compaction bytes'],
  ];

  function render() {
    const server = docs.get('server') || {};
    const dl = $('server');
    dl.textContent = '';
    for (const [k, label] of labels) {
      if (server[k] === undefined) continue;
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = label;
      dd.textContent = fmt(server[k]);
      dd.dataset.field = k;
      div.append(dt, dd);
      dl.appendChild(div);
    }
    const topics = rows('topic').sort(([, a], [, b]) => a.name.localeCompare(b.name));
    fill('topics', topics, (tr, d) => {
      tr.dataset.topic = d.name;
      cell(tr, d.name); cell(tr, d.documents, true); cell(tr, d.writes, true); cell(tr, d.writesPerSec, true);
    }, 'no topics yet');
    fill('evaluations', rows('evaluation'), (tr, d) => {
      const td = cell(tr, '');
      td.className = 'graph';
      td.title = d.query;
      const node = (text, cls) => {
        const s = document.createElement('span');
        s.textContent = text;
        if (cls) s.className = cls;
        td.appendChild(s);
      };
      const arrow = () => { const i = document.createElement('i'); i.textContent = '→'; td.appendChild(i); };
      node(d.target, 'source');
      for (const op of d.operators || []) { arrow(); node(op); }
      arrow();
      node(d.subscribers + (d.subscribers === 1 ? ' subscriber' : ' subscribers'), 'sink');
      cell(tr, d.operatorKind); cell(tr, d.subscribers, true); cell(tr, d.changesIn, true);
      cell(tr, d.deltasOut, true); cell(tr, d.busyMs, true);
    }, 'no live queries');
    fill('connections', rows('connection'), (tr, d) => {
      if (d.queuedBytes > 1048576) tr.className = 'slow';
      cell(tr, d.remote); cell(tr, d.transport); cell(tr, d.queuedBytes, true);
    }, 'no connections');
    const log = $('errors');
    log.textContent = '';
    const errors = rows('error');
    if (errors.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'none since start';
      log.appendChild(li);
    }
    for (const [, d] of errors) {
      const li = document.createElement('li');
      li.textContent = d.line;
      log.appendChild(li);
    }
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem('ddpd-admin-token', token);
    $('token').value = '';
    ws.close();  // reconnects, logs in, subscribes
  });

  render();
  connect();
})();
