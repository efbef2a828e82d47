// Randomized differential test of ddpd's MongoDB selectors (query/selector.h)
// against the npm package mingo.
//
//   node tests/js/selector_mingo.js build/bin/selector_eval
//
// Environment:
//   DDP_RANDOM_SEED        PRNG seed (default: derived from the time; printed)
//   DDP_RANDOM_ITERATIONS  number of selectors (default 3000, ~20 docs each)
//   DDP_SELECTOR_VERBOSE   1: print every disagreement, not just the first 20
//
// For every generated selector both sides evaluate the same documents; the
// run fails (exit 1) on any disagreement, printing the seed, the selector,
// the document and both answers. A selector that one side rejects and the
// other accepts is a disagreement too; selectors both reject are skipped.
//
// mingo is not MongoDB. Where mingo deviates from MongoDB's documented
// semantics (which our implementation follows, like minimongo), the
// generator does not produce that class of input; each such exclusion is
// marked "EXCLUDED:" below with the reason and the MongoDB documentation it
// rests on. Everything else is generated, so a failure here is either a bug
// on our side or a mingo deviation not yet described.
'use strict';
const { spawn } = require('child_process');
const readline = require('readline');
const { Query } = require('mingo');

// ------------------------------------------------------------------ PRNG

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let rand = Math.random;
const chance = (p) => rand() < p;
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
function weighted(table) {
  let total = 0;
  for (const [w] of table) total += w;
  let r = rand() * total;
  for (const [w, v] of table) {
    if ((r -= w) < 0) return v;
  }
  return table[table.length - 1][1];
}

// ------------------------------------------------------------------ values
//
// Small pools so that equalities and comparisons hit often. Numbers stay
// well inside 2^53 (JS numbers are doubles) and are finite (JSON has no
// NaN/Infinity). JSON carries integers as ints and non-integers as doubles
// to the C++ side; 1.0 cannot be told from 1 in JS, so it is never sent.

const INTS = [-2, -1, 0, 1, 2, 3, 10];
const NON_INTS = [-1.5, 0.5, 1.5, 2.5];
const STRINGS = ['', 'a', 'ab', 'abc', 'b', 'ba', 'B', 'A', 'x1', '1', 'a\nb'];
const OBJ_KEYS = ['b', 'c', 'b', 'c', 'd', '0', '1'];
const TOP_KEYS = ['a', 'b', 'c'];

// `profile` limits the corpus of one selector (see profileFor()).
function scalar(profile) {
  return weighted([
    [4, () => pick(INTS)],
    [profile.nonInts ? 2 : 0, () => pick(NON_INTS)],
    [4, () => pick(STRINGS)],
    [1, () => rand() < 0.5],
    [1, () => null],
  ])();
}

function value(profile, depth) {
  if (depth <= 0) return scalar(profile);
  return weighted([
    [6, () => scalar(profile)],
    [2, () => object(profile, depth - 1)],
    [profile.arrays === 'none' ? 0 : 3, () => array(profile, depth - 1)],
  ])();
}

function object(profile, depth) {
  const o = {};
  const n = int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = pick(OBJ_KEYS);
    if (k === '0' || k === '1') {
      if (!profile.numericObjectKeys) continue;
    }
    o[k] = value(profile, depth);
  }
  return o;
}

function array(profile, depth) {
  const n = weighted([[1, 0], [3, 1], [4, 2], [3, 3], [1, 4]]);
  const a = [];
  for (let i = 0; i < n; i++) {
    // Arrays of documents are common in real data; make them common here.
    a.push(chance(0.35) ? object(profile, Math.max(depth, 1)) : value(profile, depth));
  }
  return a;
}

function doc(profile) {
  const d = {};
  for (const k of TOP_KEYS) {
    if (chance(0.75)) d[k] = value(profile, k === 'a' ? 3 : 2);
  }
  return d;
}

// All sub-values of the documents: operands drawn from here hit.
function collectValues(v, out) {
  out.push(v);
  if (Array.isArray(v)) for (const e of v) collectValues(e, out);
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) collectValues(v[k], out);
}

// ------------------------------------------------------------------ selectors

const PATHS = ['a', 'a', 'b', 'c', 'a.b', 'a.b', 'a.c', 'a.0', 'a.1', 'a.b.c', 'a.0.b', 'a.b.0',
               'b.c', 'a.d', 'x'];

const REGEXES = ['^a', 'b$', 'a.c', 'a.b', '^$', 'A', '[ab]', 'x\\d', '^(a|b)', 'b+', '^a$', '1',
                 '^.b', 'a$', '^b'];

function regex() {
  // EXCLUDED: the "x" (extended) and "u"/"g"/"y" flags: JS and RE2 differ
  // (x is not a JS flag; g/y make RegExp.test stateful in JS).
  const flags = pick(['', '', 'i', 'i', 'm', 's', 'im']);
  return new RegExp(pick(REGEXES), flags);
}

// An operand: half the time a value from the documents.
function operand(ctx, depth = 1) {
  if (ctx.pool.length && chance(0.5)) return structuredCloneJson(pick(ctx.pool));
  return value(ctx.profile, depth);
}

function scalarOperand(ctx) {
  for (let i = 0; i < 4; i++) {
    const v = operand(ctx);
    if (v === null || typeof v !== 'object') return v;
  }
  return scalar(ctx.profile);
}

function structuredCloneJson(v) {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

const TYPE_NAMES = ['number', 'string', 'object', 'array', 'bool', 'null', 2, 3, 4, 8, 10];
// EXCLUDED: $type "int", "long", "double", "decimal" (and codes 1, 16, 18,
// 19): mingo has a single numeric type ("Differences from MongoDB" in its
// README: "Support a single numeric type number"), so it calls 1.5 an
// "int". MongoDB distinguishes them
// (https://www.mongodb.com/docs/manual/reference/operator/query/type/).
// EXCLUDED: "regex", "date", "binData", "objectId", ...: the corpus has no
// such values (JSON documents), so these would only test "never matches".

// An operator expression {$op: ...} for a field (or, with `inElemMatch`,
// for the elements of an array).
function operatorExpr(ctx, depth) {
  const n = weighted([[6, 1], [3, 2], [1, 3]]);
  const e = {};
  for (let i = 0; i < n; i++) {
    const op = pickOperator(ctx, depth);
    if (op in e || (op === '$regex' && '$not' in e)) continue;
    Object.assign(e, operatorEntry(ctx, op, depth));
  }
  if (Object.keys(e).length === 0) e.$exists = true;
  return e;
}

function pickOperator(ctx, depth) {
  return weighted([
    [3, '$eq'], [3, '$ne'],
    [2, '$gt'], [2, '$gte'], [2, '$lt'], [2, '$lte'],
    [3, '$in'], [3, '$nin'],
    [2, '$exists'], [2, '$type'], [3, '$regex'],
    [ctx.profile.nonInts ? 0 : 2, '$mod'],
    [2, '$size'], [2, '$all'],
    [depth > 0 ? 3 : 0, '$elemMatch'],
    [depth > 0 ? 3 : 0, '$not'],
  ]);
}

function operatorEntry(ctx, op, depth) {
  switch (op) {
    case '$eq':
    case '$ne':
      return { [op]: chance(0.15) ? null : operand(ctx) };
    case '$gt': case '$gte': case '$lt': case '$lte':
      return { [op]: scalarOperand(ctx) };
    case '$in':
    case '$nin': {
      // EXCLUDED: regular expressions inside $in/$nin: mingo compares them by
      // hash and never matches a string, while MongoDB documents
      // `{ tags: { $in: [ /^be/, /^st/ ] } }` as matching strings
      // (https://www.mongodb.com/docs/manual/reference/operator/query/in/#use-the--in-operator-with-a-regular-expression).
      const xs = [];
      const n = int(0, 4);
      for (let i = 0; i < n; i++) xs.push(chance(0.15) ? null : operand(ctx));
      return { [op]: xs };
    }
    case '$exists':
      return { $exists: rand() < 0.6 };
    case '$type':
      return { $type: chance(0.2) ? [pick(TYPE_NAMES), pick(TYPE_NAMES)] : pick(TYPE_NAMES) };
    case '$regex': {
      const re = regex();
      // Either a RegExp or the string form with $options (same semantics).
      if (chance(0.5)) return { $regex: re };
      const e = { $regex: re.source };
      if (re.flags) e.$options = re.flags;
      return e;
    }
    case '$mod':
      return { $mod: [pick([1, 2, 3, -2, 5]), pick([-1, 0, 1, 2])] };
    case '$size':
      return { $size: weighted([[2, 0], [3, 1], [3, 2], [1, 3]]) };
    case '$all': {
      const xs = [];
      const n = int(1, 3);
      for (let i = 0; i < n; i++) {
        if (depth > 0 && chance(0.2)) xs.push({ $elemMatch: elemMatchOperand(ctx, depth - 1) });
        else xs.push(operand(ctx));
      }
      return { $all: xs };
    }
    case '$elemMatch':
      return { $elemMatch: elemMatchOperand(ctx, depth - 1) };
    case '$not':
      return { $not: chance(0.25) ? regex() : operatorExpr(ctx, depth - 1) };
  }
  throw new Error('unknown op ' + op);
}

// $elemMatch: the value form ({$gt: 1}) or the document form ({b: ...}).
function elemMatchOperand(ctx, depth) {
  if (chance(0.5)) return operatorExpr(ctx, depth);
  const sub = { ...ctx, paths: ['b', 'c', 'b', 'b.c', 'd', '0'] };
  return docSelector(sub, depth, /*allowLogical=*/true);
}

function fieldCondition(ctx, depth) {
  return weighted([
    [3, () => operand(ctx)],               // literal equality
    [1, () => null],                       // null matches missing
    [1, () => regex()],                    // {a: /re/}
    [7, () => operatorExpr(ctx, depth)],
  ])();
}

function docSelector(ctx, depth, allowLogical) {
  const s = {};
  const n = weighted([[2, 0], [8, 1], [4, 2], [1, 3]]);
  for (let i = 0; i < n; i++) {
    const path = pick(ctx.paths);
    if (path in s) continue;
    s[path] = fieldCondition(ctx, depth);
  }
  if (allowLogical && depth > 0 && chance(0.3)) {
    const op = pick(['$and', '$or', '$nor']);
    const xs = [];
    const m = int(1, 3);
    for (let i = 0; i < m; i++) xs.push(docSelector(ctx, depth - 1, true));
    s[op] = xs;
  }
  return s;
}

// Which inputs one selector runs against.
function profileFor() {
  return {
    nonInts: chance(0.6),
    numericObjectKeys: chance(0.3),
    arrays: process.env.PROFILE_ARRAYS || pick(['none', 'scalars', 'objects', 'mixed']),
  };
}

// ------------------------------------------------------------------ transport

// EJSON for the C++ side: RegExp -> {$regexp, $flags}.
function toEjson(v) {
  if (v instanceof RegExp) return { $regexp: v.source, $flags: v.flags };
  if (Array.isArray(v)) return v.map(toEjson);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toEjson(v[k]);
    return o;
  }
  return v;
}

// Readable form for reports: RegExps as /src/flags.
function show(v) {
  return JSON.stringify(v, (k, x) => (x instanceof RegExp ? `/${x.source}/${x.flags}` : x));
}

class Tool {
  constructor(binary) {
    this.proc = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = [];
    this.exited = null;
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w.resolve(line);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `selector_eval exited (code ${code}, signal ${signal})`;
      for (const w of this.waiting.splice(0)) w.reject(new Error(this.exited));
    });
  }
  eval(selector, docs) {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(JSON.stringify({ selector: toEjson(selector), docs }) + '\n');
    }).then((line) => JSON.parse(line));
  }
  close() {
    this.proc.stdin.end();
  }
}

// ------------------------------------------------------------------ shrinking

// Smaller variants of a JSON-like value: drop members/elements, replace
// containers by their parts, simplify scalars.
function* shrinks(v) {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) yield v.filter((_, j) => j !== i);
    for (let i = 0; i < v.length; i++) {
      for (const s of shrinks(v[i])) yield v.map((x, j) => (j === i ? s : x));
    }
  } else if (v !== null && typeof v === 'object' && !(v instanceof RegExp)) {
    const keys = Object.keys(v);
    for (const k of keys) {
      const o = {};
      for (const j of keys) if (j !== k) o[j] = v[j];
      yield o;
    }
    for (const k of keys) {
      for (const s of shrinks(v[k])) yield { ...v, [k]: s };
    }
  }
}

// Keys of a selector are shrunk only where removing them keeps it valid:
// field conditions and logical operators at document level.
function* selectorShrinks(sel) {
  const keys = Object.keys(sel);
  for (const k of keys) {
    if (keys.length === 1 && k !== '$and' && k !== '$or' && k !== '$nor') break;
    const o = {};
    for (const j of keys) if (j !== k) o[j] = sel[j];
    yield o;
  }
  for (const k of ['$and', '$or', '$nor']) {
    const xs = sel[k];
    if (!Array.isArray(xs)) continue;
    for (let i = 0; i < xs.length && xs.length > 1; i++) yield { ...sel, [k]: xs.filter((_, j) => j !== i) };
    for (let i = 0; i < xs.length; i++) {
      for (const s of selectorShrinks(xs[i])) yield { ...sel, [k]: xs.map((x, j) => (j === i ? s : x)) };
    }
    // Hoist a single branch of $and/$or into the top level.
    if (xs.length === 1) {
      const o = { ...sel };
      delete o[k];
      let clash = false;
      for (const j of Object.keys(xs[0])) if (j in o) clash = true;
      if (!clash) yield { ...o, ...xs[0] };
    }
  }
  for (const k of keys) {
    const c = sel[k];
    if (k[0] === '$' || c === null || typeof c !== 'object' || c instanceof RegExp || Array.isArray(c)) continue;
    const ops = Object.keys(c);
    if (ops.length > 1 && ops.every((op) => op[0] === '$')) {
      for (const op of ops) {
        if (op === '$options') continue;
        const o = {};
        for (const j of ops) if (j !== op && !(op === '$regex' && j === '$options')) o[j] = c[j];
        yield { ...sel, [k]: o };
      }
    }
  }
}

// Greedily shrinks a disagreeing (selector, document) pair while both sides
// still compile and still disagree.
async function shrink(tool, selector, document) {
  const disagree = async (sel, d) => {
    const theirs = mingoEval(sel, [d]);
    let ours;
    try {
      ours = await tool.eval(sel, [d]);
    } catch (e) {
      return false;
    }
    return theirs.ok && ours.ok && theirs.matches[0] !== ours.matches[0];
  };
  let progress = true;
  for (let rounds = 0; progress && rounds < 200; rounds++) {
    progress = false;
    for (const d of shrinks(document)) {
      if (await disagree(selector, d)) {
        document = d;
        progress = true;
        break;
      }
    }
    if (progress) continue;
    for (const s of selectorShrinks(selector)) {
      if (await disagree(s, document)) {
        selector = s;
        progress = true;
        break;
      }
    }
  }
  return { selector, document };
}

// ------------------------------------------------------------------ main

function mingoEval(selector, docs) {
  let q;
  try {
    q = new Query(selector);
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
  const matches = [];
  for (const d of docs) {
    try {
      matches.push(q.test(structuredCloneJson(d)));
    } catch (e) {
      return { ok: false, error: 'test threw: ' + String(e && e.message ? e.message : e) };
    }
  }
  return { ok: true, matches };
}

async function main() {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: node selector_mingo.js path/to/selector_eval');
    process.exit(2);
  }
  const seed = process.env.DDP_RANDOM_SEED !== undefined && process.env.DDP_RANDOM_SEED !== ''
    ? Number(process.env.DDP_RANDOM_SEED) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;
  const iterations = Number(process.env.DDP_RANDOM_ITERATIONS || 3000);
  const verbose = process.env.DDP_SELECTOR_VERBOSE === '1';
  console.log(`selector_mingo: DDP_RANDOM_SEED=${seed} DDP_RANDOM_ITERATIONS=${iterations}`);
  rand = mulberry32(seed);

  const tool = new Tool(binary);
  const started = Date.now();
  let disagreements = 0, bothErrors = 0, docsTested = 0;
  const report = (lines) => {
    disagreements++;
    if (disagreements <= 20 || verbose) console.log(lines.join('\n') + '\n');
  };
  for (let it = 0; it < iterations; it++) {
    const profile = profileFor();
    const docs = [];
    const ndocs = int(15, 25);
    for (let i = 0; i < ndocs; i++) docs.push(doc(profile));
    const pool = [];
    for (const d of docs) for (const k of Object.keys(d)) collectValues(d[k], pool);
    const ctx = { profile, pool, paths: PATHS };
    const selector = docSelector(ctx, 3, true);

    const theirs = mingoEval(selector, docs);
    const ours = await tool.eval(selector, docs);
    const head = [`DISAGREEMENT (seed ${seed}, iteration ${it})`, `  selector: ${show(selector)}`];
    if (!theirs.ok || !ours.ok) {
      if (!theirs.ok && !ours.ok) {
        bothErrors++;
        continue;
      }
      report([...head, `  mingo: ${theirs.ok ? 'compiles' : 'error: ' + theirs.error}`,
              `  ours:  ${ours.ok ? 'compiles' : 'error: ' + ours.error}`]);
      continue;
    }
    for (let i = 0; i < docs.length; i++) {
      docsTested++;
      if (theirs.matches[i] !== ours.matches[i]) {
        const small = await shrink(tool, selector, docs[i]);
        const again = mingoEval(small.selector, [small.document]);
        report([...head, `  document: ${show(docs[i])}`,
                `  mingo: ${theirs.matches[i]}  ours: ${ours.matches[i]}`,
                `  shrunk: selector ${show(small.selector)} document ${show(small.document)}` +
                  ` mingo: ${again.matches[0]} ours: ${!again.matches[0]}`]);
        break;  // one document per selector is enough
      }
    }
  }
  tool.close();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${iterations} selectors, ${docsTested} document matches compared, ` +
              `${bothErrors} rejected by both, ${disagreements} disagreements, ${secs} s`);
  if (disagreements) {
    console.log(`FAIL (reproduce with DDP_RANDOM_SEED=${seed} DDP_RANDOM_ITERATIONS=${iterations})`);
    process.exit(1);
  }
  console.log('PASS');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
