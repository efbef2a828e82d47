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
// Reports show regular expressions as "/pattern/flags" (mingo gets RegExp
// objects, selector_eval gets EJSON {"$regexp": pattern, "$flags": flags}).
//
// For every generated selector both sides evaluate the same documents; the
// run fails (exit 1) on any disagreement, printing the seed, the selector,
// the document, both answers and a shrunk reproduction. A selector that one
// side rejects and the other accepts is a disagreement too; selectors both
// reject are counted and skipped.
//
// mingo is not MongoDB. Our implementation follows MongoDB (and minimongo);
// where mingo deviates from MongoDB's documented behaviour the generator
// does not produce that class of input. Each such exclusion is marked
// "EXCLUDED:" below with the reason and the MongoDB documentation (or, where
// the manual is silent, MongoDB's own test suite) it rests on. Everything
// else is generated, so a failure is either a bug on our side or a mingo
// deviation not yet described here.
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

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RegExp);
const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

// ------------------------------------------------------------------ documents
//
// Small pools so that equalities and comparisons hit often. Numbers stay
// well inside 2^53 and finite (JSON has no NaN/Infinity). JSON carries
// integers to the C++ side as ints and non-integers as doubles; 1.0 cannot
// be told from 1 in JS, so int/double typing is not under test here.

const INTS = [-2, -1, 0, 1, 2, 3, 10];
const NON_INTS = [-1.5, 0.5, 1.5, 2.5];
const STRINGS = ['', 'a', 'ab', 'abc', 'b', 'ba', 'B', 'A', 'x1', '1', 'a\nb'];
// Strings that JS arithmetic does not turn into a number (see $mod).
const NAN_STRINGS = STRINGS.filter((x) => x !== '' && x !== '1');
const OBJ_KEYS = ['b', 'c', 'b', 'c', 'd', '0', '1'];
const TOP_KEYS = ['a', 'b', 'c'];

// A profile shapes the corpus of one selector: its documents and which
// operators the selector may use on them.
//
// EXCLUDED: arrays directly inside arrays ({a: [[1, 2], 3]}). mingo flattens
// nested arrays when matching (it finds 5 in {a: [[5]]} with {a: 5}, and
// null in {a: [[null]]} with {a: null}), while MongoDB matches an array
// field against its elements and the array itself, one level deep: "the
// query ... for all documents where tags is an array that contains the
// string "red" as one of its elements"
// (https://www.mongodb.com/docs/manual/tutorial/query-arrays/#query-an-array-for-an-element);
// an element [5] is not 5. MongoDB's own
// jstests/core/query/elemmatch/elemmatch_value.js has {a: {$elemMatch:
// {$lt: 6, $gt: 4}}} match {a: [5]} but not {a: [[5]]}.
// So arrays hold scalars and/or documents only; documents may hold arrays.
// The one exception is the "nested" profile: arrays of scalars inside
// arrays, queried only through $elemMatch's document form with numeric
// paths ({a: {$elemMatch: {"0": 3}}} matches {a: [[3, 4]]}: MongoDB's
// $elemMatch considers elements that are documents or arrays,
// `if (!inner.isABSONObj()) continue;` in
// src/mongo/db/matcher/expression_array.cpp, and an array's fields are its
// indexes), where mingo agrees.
function makeProfile() {
  const p = {
    nonInts: chance(0.6),          // numbers include -1.5, 0.5, ...
    // No null, booleans, "" or "1" in documents: lets $mod use every
    // remainder (see $mod below).
    coercionSafe: chance(0.25),
    // What arrays in documents may hold.
    arrays: weighted([[2, 'none'], [3, 'scalars'], [3, 'documents'], [2, 'mixed'], [1, 'nested']]),
  };
  // Documents may have keys "0", "1" (reached by paths like a.0).
  // EXCLUDED: numeric keys in documents inside arrays. In MongoDB a numeric
  // path component is both an array index and a field name of the
  // elements: {a: [{1: 4}, 5]} matches both {'a.1': 4} and {'a.1': 5}
  // (https://github.com/mongodb/mongo/blob/master/jstests/core/query/array/array_match2.js);
  // mingo only indexes. So numeric keys only where there are no arrays.
  p.numericObjectKeys = (p.arrays === 'none' || p.arrays === 'nested') && chance(0.5);
  return p;
}

function scalar(profile) {
  return weighted([
    [4, () => pick(INTS)],
    [profile.nonInts ? 2 : 0, () => pick(NON_INTS)],
    [4, () => pick(profile.coercionSafe ? NAN_STRINGS : STRINGS)],
    [profile.coercionSafe ? 0 : 1, () => rand() < 0.5],
    [profile.coercionSafe ? 0 : 1, () => null],
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

// EXCLUDED: documents that are equal up to the order of their fields.
// MongoDB: "If <value> is a document, the order of the fields in the
// document matters"
// (https://www.mongodb.com/docs/manual/reference/operator/query/eq/#match-a-document-value);
// mingo compares documents ignoring field order. Fields are always created
// in one canonical order, so two documents with the same fields never
// differ in order only.
function object(profile, depth) {
  const keys = new Set();
  const n = int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = pick(OBJ_KEYS);
    if ((k === '0' || k === '1') && !profile.numericObjectKeys) continue;
    keys.add(k);
  }
  const o = {};
  for (const k of [...keys].sort()) o[k] = value(profile, depth);
  return o;
}

function array(profile, depth) {
  const n = weighted([[1, 0], [3, 1], [4, 2], [3, 3], [1, 4]]);
  const a = [];
  for (let i = 0; i < n; i++) {
    switch (profile.arrays) {
      case 'scalars': a.push(scalar(profile)); break;
      case 'documents': a.push(object(profile, Math.max(depth, 1))); break;
      case 'nested':  // arrays of scalars and flat documents (no scalars:
                      // see the $elemMatch document-form exclusion)
        a.push(chance(0.7) ? Array.from({ length: int(0, 3) }, () => scalar(profile)) : object(profile, 0));
        break;
      default: a.push(chance(0.4) ? object(profile, Math.max(depth, 1)) : scalar(profile));
    }
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
  else if (isPlainObject(v)) for (const k of Object.keys(v)) collectValues(v[k], out);
}

// The values a dotted path reaches in `roots` (roughly as MongoDB does:
// into arrays by index and through arrays of documents). Only used to pick
// operands that hit, so it need not be exact.
function valuesAt(roots, path) {
  let cur = roots;
  for (const part of path.split('.')) {
    const next = [];
    for (const v of cur) {
      if (Array.isArray(v)) {
        if (/^\d+$/.test(part) && Number(part) < v.length) next.push(v[Number(part)]);
        for (const e of v) if (isPlainObject(e) && part in e) next.push(e[part]);
      } else if (isPlainObject(v) && part in v) {
        next.push(v[part]);
      }
    }
    cur = next;
  }
  return cur;
}

// ------------------------------------------------------------------ selectors

// Paths of the top-level selector; dotted ones reach into documents, into
// arrays by index (a.0) and through arrays of documents (a.b on [{b: 1}]).
const PATHS = ['a', 'a', 'b', 'b', 'c', 'c', 'a.b', 'a.b', 'a.c', 'a.0', 'a.1', 'a.b.c', 'a.0.b',
               'a.b.0', 'b.c', 'b.0', 'c.d', 'a.d', 'x'];
// Paths inside $elemMatch's document form (relative to the elements).
const ELEM_PATHS = ['b', 'c', 'b', 'd', 'b.c', 'b.0', '0'];

// Where a condition applies. "plain": the values reached are never arrays
// and the path crosses none. "leaf": the value reached may be an array (a
// top-level field, or an undotted field of an array element), but the path
// crosses no array. "crossing": a dotted path that may cross arrays.
function targetOf(profile, path) {
  if (profile.arrays === 'none') return 'plain';
  // Inside nestedSelector(): "0"/"1" of an element reach scalars only.
  if (profile.arrays === 'nested') return 'plain';
  return path.includes('.') ? 'crossing' : 'leaf';
}

// EXCLUDED on "crossing" targets: operators that ask whether a value is an
// array, is missing or is null. mingo resolves a path through an array of
// documents into a new array of the values found, so it sees
// {a: [{b: 1}, {b: 2}]} as having a.b = [1, 2] (an array: $size 2 and
// $elemMatch match, $type "array" matches), a.b in {a: []} as [] (so it
// "exists" and equals []), and it skips elements that lack the field, so
// {"a.b": null} does not match {a: [{}]}. MongoDB matches each element's
// value on its own and treats a missing field in an element as null: "An
// array which has at least one object in it which has a missing, null ...
// value for "b"" matches {"a.b": {$eq: null}}
// (https://github.com/mongodb/mongo/blob/master/jstests/core/query/null_query_semantics.js),
// and $size / $elemMatch / $type: "array" apply to array fields, not to the
// set of values a dotted path reaches
// (https://www.mongodb.com/docs/manual/tutorial/query-array-of-documents/).
// A numeric component such as a.1 is both an index and a field name in
// MongoDB (jstests/core/query/array/array_match2.js: {a: [{1: 4}, 5]} matches both
// {'a.1': 4} and {'a.1': 5}); mingo only indexes. That is covered by the
// same rule: no null/missing/array questions on crossing paths.
// So on crossing targets: equality / $in / $nin / ranges / $regex / $mod
// with non-null scalar (or document) operands, and $not of those.

// An operand: mostly a value found at the condition's path (or an element of
// it), sometimes any value of the documents, sometimes a fresh one.
function sample(ctx, fresh) {
  const r = rand();
  if (r < 0.55 && ctx.here.length) {
    const v = pick(ctx.here);
    return Array.isArray(v) && v.length && chance(0.5) ? pick(v) : v;
  }
  if (r < 0.75 && ctx.pool.length) return pick(ctx.pool);
  return fresh();
}

// Operand for equality-like operators on a target.
function operand(ctx, target) {
  for (let i = 0; i < 8; i++) {
    const v = clone(sample(ctx, () => value(ctx.profile, 1)));
    if (target === 'crossing' && (v === null || Array.isArray(v))) continue;
    return v;
  }
  return pick(INTS);
}

function scalarOperand(ctx) {
  for (let i = 0; i < 8; i++) {
    const v = sample(ctx, () => scalar(ctx.profile));
    // EXCLUDED: range operators with a null operand. MongoDB compares within
    // a type bracket where missing counts as null, so {a: {$gte: null}}
    // matches a document without a (null_query_semantics.js: the documents
    // matched by {a: {$not: {$gte: null}}} exclude "no_a"); mingo never
    // matches a missing field with a range operator.
    if (v !== null && typeof v !== 'object') return v;
  }
  return pick(INTS);
}

function regex() {
  // EXCLUDED: the x flag (not a JS RegExp flag) and g/y (make RegExp.test
  // stateful in JS; meaningless in MongoDB).
  const flags = pick(['', '', 'i', 'i', 'm', 's', 'im']);
  return new RegExp(pick(REGEXES), flags);
}
// Patterns whose meaning is the same in JS and RE2 (and PCRE).
const REGEXES = ['^a', 'b$', 'a.c', 'a.b', '^$', 'A', '[ab]', 'x\\d', '^(a|b)', 'b+', '^a$', '1',
                 '^.b', 'a$', '^b'];

// $type operands. EXCLUDED: "int", "long", "double", "decimal" (codes 1,
// 16, 18, 19): mingo has a single numeric type (its README, "Differences
// from MongoDB": "Support a single numeric type number"), while MongoDB
// tells them apart (https://www.mongodb.com/docs/manual/reference/operator/query/type/).
// Types without values in JSON documents (date, regex, objectId, ...) would
// only test "never matches" and are left out.
const TYPE_NAMES = ['number', 'string', 'object', 'bool', 'null', 2, 3, 8, 10];
const ARRAY_TYPES = ['array', 4];

function typeOperand(target) {
  const names = [pick(TYPE_NAMES.concat(ARRAY_TYPES))];
  if (chance(0.3)) names.push(pick(TYPE_NAMES.concat(ARRAY_TYPES)));
  // EXCLUDED: $type on a field that may be an array, unless "array" is one
  // of the types asked for. MongoDB: "For documents where <field> is an
  // array, $type returns documents in which at least one array element
  // matches a type passed to $type" (type/#arrays on the page above); mingo
  // tests the array itself only ({a: [1]} is not "number" to mingo). With
  // "array" in the list every array field matches on both sides.
  if (target === 'leaf' && !names.some((n) => n === 'array' || n === 4)) names.push(pick(ARRAY_TYPES));
  return names.length === 1 && chance(0.7) ? names[0] : names;
}

function pickOperator(ctx, target, depth) {
  const crossing = target === 'crossing';
  // EXCLUDED: $in, $nin, ranges and $mod on paths through arrays of
  // documents. A path like a.b.c over {a: [{b: [{c: 1}]}, {b: []}]} reaches
  // the values of several arrays; MongoDB tests every value reached
  // ({'instock.qty': {$lte: 20}} selects documents "where the instock array
  // has at least one embedded document that contains the field qty whose
  // value is less than or equal to 20",
  // https://www.mongodb.com/docs/manual/tutorial/query-array-of-documents/),
  // and expands a reached array into its elements. mingo collects those
  // values into nested arrays and, for these operators, looks only one
  // level down ({a: [{c: []}, {c: ["x"]}]} is not matched by
  // {"a.c": {$in: ["x"]}}). Its equality flattens as deep as the path goes
  // (and $regex one level less: see docSelector()).
  const deep = crossing && (ctx.profile.arrays === 'documents' || ctx.profile.arrays === 'mixed');
  return weighted([
    [3, '$eq'], [3, '$ne'],
    [deep ? 0 : 2, '$gt'], [deep ? 0 : 2, '$gte'], [deep ? 0 : 2, '$lt'], [deep ? 0 : 2, '$lte'],
    [deep ? 0 : 3, '$in'], [deep ? 0 : 3, '$nin'],
    [crossing ? 0 : 2, '$exists'],
    [crossing ? 0 : 2, '$type'],
    [ctx.regexOk ? 3 : 0, '$regex'],
    // EXCLUDED: $mod where documents hold non-integers: MongoDB truncates
    // a double field value toward zero before taking the remainder
    // (ModMatchExpression::matchesSingleElement in
    // src/mongo/db/matcher/expression_leaf.cpp: `std::trunc(dividendDouble)`),
    // so {$mod: [2, 1]} matches 3.5; mingo computes the JS remainder
    // 3.5 % 2 = 1.5. Only profiles without non-integers use $mod.
    [ctx.profile.nonInts || deep ? 0 : 2, '$mod'],
    [crossing ? 0 : 2, '$size'],
    [ctx.docLevel ? 2 : 0, '$all'],
    [depth > 0 && !crossing ? 3 : 0, '$elemMatch'],
    [depth > 0 ? 3 : 0, '$not'],
  ]);
}

function operatorEntry(ctx, target, op, depth) {
  switch (op) {
    case '$eq':
    case '$ne':
      // A regular expression operand: MongoDB's $eq "is equivalent to the
      // { field: <value> } form, except when <value> is a regular
      // expression" (https://www.mongodb.com/docs/manual/reference/operator/query/eq/,
      // "Regex Match Behavior"): {$eq: /re/} only matches a field holding
      // that same regular expression, not strings the pattern matches.
      if (chance(0.08)) return { [op]: regex() };
      return { [op]: target !== 'crossing' && chance(0.15) ? null : operand(ctx, target) };
    case '$gt': case '$gte': case '$lt': case '$lte':
      return { [op]: scalarOperand(ctx) };
    case '$in':
    case '$nin': {
      // EXCLUDED: regular expressions inside $in/$nin: mingo compares them
      // by hash and never matches a string, while MongoDB documents
      // { tags: { $in: [ /^be/, /^st/ ] } } as matching strings
      // (https://www.mongodb.com/docs/manual/reference/operator/query/in/#use-the--in-operator-with-a-regular-expression).
      // EXCLUDED: array operands inside $in/$nin where the field may be an
      // array: $in is equality with any of the values ("selects the
      // documents where the value of a field equals any value in the
      // specified array", same page), and equality with an array matches
      // an equal array field (query-arrays/#match-an-array); mingo
      // intersects the field's elements with the list and misses it.
      const xs = [];
      const n = int(0, 4);
      for (let i = 0; i < n; i++) {
        if (target !== 'crossing' && chance(0.15)) {
          xs.push(null);
          continue;
        }
        let v = operand(ctx, target);
        if (target !== 'plain' && Array.isArray(v)) v = scalar(ctx.profile);
        xs.push(v);
      }
      return { [op]: xs };
    }
    case '$exists':
      // Booleans, and numbers read as booleans (MongoDB: {$exists: 0} is
      // {$exists: false}).
      return { $exists: weighted([[5, true], [4, false], [1, 1], [1, 0]]) };
    case '$type':
      return { $type: typeOperand(target) };
    case '$regex': {
      const re = regex();
      // Either a RegExp or the string form with $options (same meaning).
      if (chance(0.5)) return { $regex: re };
      const e = { $regex: re.source };
      if (re.flags) e.$options = re.flags;
      return e;
    }
    case '$mod':
      // EXCLUDED: $mod with remainder 0 or 1 unless the documents hold no
      // null, booleans, "" or "1": mingo applies JS `%`, which turns those
      // into 0 or 1 (null % 2 === 0), while MongoDB's $mod only matches
      // numbers ("$mod ... select documents where the value of a field
      // divided by a divisor has the specified remainder"; a string or null
      // has no remainder). Remainders -1, 2, -2 cannot come from a coerced
      // 0 or 1 and are always generated.
      return { $mod: [pick([2, 3, -2, 5, -3]),
                      ctx.profile.coercionSafe ? pick([-1, 0, 1, 2]) : pick([-1, 2, -2])] };
    case '$size':
      return { $size: weighted([[2, 0], [3, 1], [3, 2], [1, 3]]) };
    case '$all': {
      // Evaluated by mingo as the equivalent $and (see mingoSelector()).
      const xs = [];
      const n = int(1, 3);
      for (let i = 0; i < n; i++) {
        if (depth > 0 && target !== 'crossing' && chance(0.25)) {
          const em = elemMatchOperand(ctx, depth - 1);
          if (em) {
            xs.push({ $elemMatch: em });
            continue;
          }
        }
        xs.push(ctx.regexOk && chance(0.15) ? regex() : operand(ctx, target));
      }
      return { $all: xs };
    }
    case '$elemMatch': {
      const em = elemMatchOperand(ctx, depth - 1);
      return em ? { $elemMatch: em } : { $size: 1 };
    }
    case '$not':
      return { $not: ctx.regexOk && chance(0.25) ? regex() : operatorExpr({ ...ctx, docLevel: false }, target, depth - 1) };
  }
  throw new Error('unknown op ' + op);
}

// An operator expression {$op: ..., ...} for a target.
function operatorExpr(ctx, target, depth) {
  const n = weighted([[10, 1], [4, 2], [1, 3]]);
  const e = {};
  for (let i = 0; i < n; i++) {
    const op = pickOperator(ctx, target, depth);
    if (op in e || (op === '$regex' && '$not' in e)) continue;
    Object.assign(e, operatorEntry(ctx, target, op, depth));
  }
  if (Object.keys(e).length === 0) e.$gt = scalarOperand(ctx);
  return e;
}

// $elemMatch's operand: the value form ({$gt: 1}: conditions on each
// element) or the document form ({b: ...}: a selector over elements that are
// documents). Returns null when neither fits the profile.
function elemMatchOperand(ctx, depth) {
  // Elements are never arrays (no nested arrays), so conditions on them see
  // plain values.
  const elements = [];
  for (const v of ctx.here) if (Array.isArray(v)) elements.push(...v);
  const valueForm = () => operatorExpr({ ...ctx, here: elements, regexOk: true, docLevel: false }, 'plain', depth);
  // EXCLUDED: the document form where arrays may hold scalars: mingo runs
  // the inner selector on a scalar element as if it were the value at every
  // path ({a: {$elemMatch: {d: "b"}}} matches {a: ["b"]} in mingo), while
  // MongoDB's document form only considers elements that are documents
  // (https://www.mongodb.com/docs/manual/reference/operator/query/elemMatch/:
  // "matches documents that contain an array field with at least one element
  // that matches all the specified query criteria" — criteria on fields of
  // that element).
  // EXCLUDED: {$elemMatch: {}}: mingo takes an empty object for the value
  // form and compares elements with {} by equality; MongoDB parses it as the
  // document form with no conditions (every document element matches).
  if (ctx.profile.arrays === 'scalars' || ctx.profile.arrays === 'mixed' || chance(0.5)) return valueForm();
  const sub = { ...ctx, roots: elements.filter(isPlainObject), paths: ELEM_PATHS, docLevel: true };
  for (let i = 0; i < 4; i++) {
    const s = docSelector(sub, depth, true);
    if (Object.keys(s).length) return s;
  }
  return valueForm();
}

function fieldCondition(ctx, target, depth) {
  return weighted([
    [3, () => operand(ctx, target)],           // literal equality
    [target === 'crossing' ? 0 : 1, () => null], // null: null or missing
    [ctx.regexOk ? 1 : 0, () => regex()],     // {a: /re/}
    [7, () => operatorExpr(ctx, target, depth)],
  ])();
}

// The "nested" profile's selectors (see makeProfile()): top-level fields
// with $elemMatch in document form over the paths "0" and "1" only.
function nestedSelector(ctx) {
  const s = {};
  const n = weighted([[4, 1], [1, 2]]);
  for (let i = 0; i < n; i++) {
    const path = pick(TOP_KEYS);
    const elements = [];
    for (const v of valuesAt(ctx.roots, path)) if (Array.isArray(v)) elements.push(...v);
    const sub = { ...ctx, roots: elements.filter((e) => isPlainObject(e) || Array.isArray(e)),
                  paths: ['0', '1', '0'], docLevel: true };
    let em = {};
    while (!Object.keys(em).length) em = docSelector(sub, 1, true);
    s[path] = { $elemMatch: em };
  }
  return s;
}

function docSelector(ctx, depth, allowLogical) {
  const s = {};
  const n = weighted([[1, 0], [12, 1], [4, 2], [1, 3]]);
  for (let i = 0; i < n; i++) {
    const path = pick(ctx.paths);
    if (path in s) continue;
    const target = targetOf(ctx.profile, path);
    // EXCLUDED: regular expressions on paths of three or more parts through
    // arrays of documents ({"a.b.c": /x/} over {a: [{b: [{c: ["x"]}]}]}):
    // the same MongoDB rule as above (every value reached, arrays reached
    // expanded); mingo's $regex flattens the values it collects one level
    // less deep than its equality does and misses "x".
    const regexOk = !(target === 'crossing' && ctx.profile.arrays !== 'scalars' && path.split('.').length >= 3);
    s[path] = fieldCondition({ ...ctx, here: valuesAt(ctx.roots, path), regexOk }, target, depth);
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

// Turns a selector into one that MongoDB rejects and mingo rejects too
// (both sides must then report an error).
//
// EXCLUDED: invalid selectors that mingo accepts (it validates little); we
// reject them like MongoDB does: $size with a negative, fractional or
// non-numeric operand ("$size needs a number" / "may not be negative"),
// $mod without exactly two numbers or with divisor 0 ("malformed mod" /
// "divisor cannot be 0"), empty $and/$or/$nor ("must be a nonempty array"),
// $elemMatch with a non-object, $not with anything but a regex or an
// operator document ("$not needs a regex or a document"), $regex with a
// non-string, unknown $type names/codes, $all with a non-array, and
// operator objects inside $in (every one of these is a parse error in the
// MongoDB server: src/mongo/db/matcher/expression_parser.cpp). mingo
// answers false/true for them instead of failing.
// EXCLUDED: patterns valid in JS (and MongoDB's PCRE) but not in RE2:
// look-around and backreferences. Our implementation rejects them by
// design (query/selector.h: regular expressions run on RE2).
//
// mingo checks some operands only when a document reaches them ($in with a
// non-array throws from test(), and not at all when an earlier condition
// already failed); those are generated as the whole selector.
function invalidSelector(ctx, selector) {
  const path = pick(ctx.paths);
  if (chance(0.2)) return { [path]: { [pick(['$in', '$nin'])]: pick([1, 'a', { b: 1 }]) } };
  const bad = pick([
    () => ({ [path]: { $foo: 1 } }),
    () => ({ [path]: { $gt: 1, b: 2 } }),  // operators and fields mixed
    () => ({ [path]: { $options: 'i' } }),  // $options without $regex
    () => ({ [path]: { $regex: pick(['(', '[a', 'a)', '*a', 'a**']) } }),
    () => ({ [path]: new RegExp('x'), $and: pick([{}, 1, 'a']) }),
    () => ({ $or: [pick([1, 'a', null])] }),
    () => ({ $bogus: [{ [path]: 1 }] }),
    () => ({ [path]: { $not: { $foo: 1 } } }),
  ])();
  // Put the invalid part next to (or instead of) the valid selector.
  if (chance(0.5)) return bad;
  const keys = Object.keys(bad);
  const out = { ...selector };
  for (const k of keys) out[k] = bad[k];
  return out;
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
    this.proc.stdin.on('error', () => {});  // a crash is reported by 'exit'
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
    if (k[0] === '$') continue;
    for (const c of conditionShrinks(sel[k])) yield { ...sel, [k]: c };
  }
}

// Smaller variants of a field condition that is an operator object: fewer
// operators, fewer list entries, smaller $elemMatch / $not operands.
function* conditionShrinks(c) {
  if (!isPlainObject(c)) return;
  const ops = Object.keys(c);
  if (!ops.length || !ops.every((op) => op[0] === '$')) return;
  if (ops.length > 1) {
    for (const op of ops) {
      if (op === '$options') continue;
      const o = {};
      for (const j of ops) if (j !== op && !(op === '$regex' && j === '$options')) o[j] = c[j];
      yield o;
    }
  }
  for (const op of ops) {
    const v = c[op];
    if ((op === '$in' || op === '$nin' || op === '$all') && Array.isArray(v)) {
      for (let i = 0; i < v.length && (op !== '$all' || v.length > 1); i++) {
        yield { ...c, [op]: v.filter((_, j) => j !== i) };
      }
    } else if (op === '$not') {
      for (const x of conditionShrinks(v)) yield { ...c, [op]: x };
    } else if (op === '$elemMatch' && isPlainObject(v)) {
      const keys = Object.keys(v);
      const valueForm = keys.length && keys.every((k) => k[0] === '$' && k !== '$and' && k !== '$or' && k !== '$nor');
      const inner = valueForm ? conditionShrinks(v) : selectorShrinks(v);
      for (const x of inner) if (Object.keys(x).length) yield { ...c, [op]: x };
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

// The selector mingo evaluates: the same conditions, with $all rewritten
// into the $and of equalities that MongoDB documents it to be equivalent to
// (https://www.mongodb.com/docs/manual/reference/operator/query/all/:
// "{ tags: { $all: [ "ssl", "security" ] } } is equivalent to
// { $and: [ { tags: "ssl" }, { tags: "security" } ] }"). mingo's own $all
// only looks inside arrays (it never matches {qty: 50} with {qty: {$all:
// [50]}}, which the same page documents as matching, nor a whole-array
// element like {a: {$all: [[1, 2]]}} against {a: [1, 2]}).
function mingoSelector(sel) {
  if (sel === null || typeof sel !== 'object' || Array.isArray(sel) || sel instanceof RegExp) return sel;
  const out = {};
  const extra = [];
  for (const k of Object.keys(sel)) {
    const c = sel[k];
    if (k === '$and' || k === '$or' || k === '$nor') {
      out[k] = c.map(mingoSelector);
      continue;
    }
    if (c !== null && typeof c === 'object' && !Array.isArray(c) && !(c instanceof RegExp) &&
        Object.keys(c).length && Object.keys(c).every((op) => op[0] === '$')) {
      const ops = {};
      for (const op of Object.keys(c)) {
        if (op === '$all') {
          for (const v of c.$all) {
            if (v !== null && typeof v === 'object' && '$elemMatch' in v) {
              extra.push({ [k]: { $elemMatch: mingoElemMatch(v.$elemMatch) } });
            } else {
              extra.push({ [k]: v });
            }
          }
        } else {
          Object.assign(ops, mingoOperators({ [op]: c[op] }));
        }
      }
      if (Object.keys(ops).length) out[k] = ops;
      continue;
    }
    out[k] = c;
  }
  if (extra.length) {
    // $and is never generated next to field conditions' $all at the same
    // level more than once; merge to be safe.
    out.$and = (out.$and || []).concat(extra);
  }
  return out;
}

// An operator object below a field (or below $not / $elemMatch): the
// document-form $elemMatch operands inside it get the same rewriting.
function mingoOperators(ops) {
  const out = {};
  for (const op of Object.keys(ops)) {
    const v = ops[op];
    if (op === '$elemMatch' && isPlainObject(v)) out[op] = mingoElemMatch(v);
    else if (op === '$not' && isPlainObject(v)) out[op] = mingoOperators(v);
    else out[op] = v;
  }
  return out;
}

function mingoElemMatch(e) {
  const keys = Object.keys(e);
  const valueForm = keys.length && keys.every((k) => k[0] === '$' && k !== '$and' && k !== '$or' && k !== '$nor');
  return valueForm ? mingoOperators(e) : mingoSelector(e);
}

function mingoEval(selector, docs) {
  let q;
  try {
    const { $comment, ...rest } = selector;
    q = new Query(mingoSelector(rest));
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
  const matches = [];
  for (const d of docs) {
    try {
      matches.push(q.test(clone(d)));
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
  const stats = { selectors: 0, decisive: 0, bothErrors: 0, docs: 0, matched: 0, disagreements: 0 };
  const classes = new Map();  // shrunk disagreement -> count
  const report = (line, lines) => {
    stats.disagreements++;
    classes.set(line, (classes.get(line) || 0) + 1);
    if (stats.disagreements <= 20 || verbose) console.log(lines.join('\n') + '\n');
  };

  // Compares one selector over the documents. Returns whether both sides
  // agreed on one answer for every document (such a selector says little).
  async function check(selector, docs, it) {
    stats.selectors++;
    const theirs = mingoEval(selector, docs);
    let ours;
    try {
      ours = await tool.eval(selector, docs);
    } catch (e) {
      console.log(`selector_eval failed (seed ${seed}, iteration ${it}) on selector ${show(selector)}`);
      throw e;
    }
    const head = [`DISAGREEMENT (seed ${seed}, iteration ${it})`, `  selector: ${show(selector)}`];
    if (!theirs.ok || !ours.ok) {
      if (!theirs.ok && !ours.ok) {
        stats.bothErrors++;
        return false;
      }
      const m = theirs.ok ? 'compiles' : 'error: ' + theirs.error;
      const o = ours.ok ? 'compiles' : 'error: ' + ours.error;
      report(`selector ${show(selector)} mingo: ${m} ours: ${o}`, [...head, `  mingo: ${m}`, `  ours:  ${o}`]);
      return false;
    }
    for (let i = 0; i < docs.length; i++) {
      stats.docs++;
      if (ours.matches[i]) stats.matched++;
      if (theirs.matches[i] !== ours.matches[i]) {
        const small = await shrink(tool, selector, docs[i]);
        const line = `selector ${show(small.selector)} document ${show(small.document)}` +
          ` mingo: ${mingoEval(small.selector, [small.document]).matches[0]}` +
          ` ours: ${(await tool.eval(small.selector, [small.document])).matches[0]}`;
        report(line, [...head, `  document: ${show(docs[i])}`,
                      `  mingo: ${theirs.matches[i]}  ours: ${ours.matches[i]}`, `  shrunk: ${line}`]);
        return false;  // one document per selector is enough
      }
    }
    const uniform = ours.matches.every((x) => x === ours.matches[0]);
    if (!uniform) stats.decisive++;
    return uniform;
  }

  for (let it = 0; it < iterations; it++) {
    const profile = makeProfile();
    const docs = [];
    const ndocs = int(15, 25);
    for (let i = 0; i < ndocs; i++) docs.push(doc(profile));
    const pool = [];
    for (const d of docs) for (const k of Object.keys(d)) collectValues(d[k], pool);
    const ctx = { profile, pool, roots: docs, here: [], paths: PATHS, docLevel: true };
    // A selector that matches all or none of the documents (on both sides)
    // is compared and then replaced by another one, up to twice: random
    // conjunctions are mostly unsatisfiable.
    for (let attempt = 0; attempt < 3; attempt++) {
      let selector = profile.arrays === 'nested' ? nestedSelector(ctx) : docSelector(ctx, 3, true);
      // $comment (MongoDB: "associates a comment to any expression taking
      // a query predicate", no effect on matching) is stripped for mingo,
      // which lacks it (its README: "Does not support ... $comment").
      if (chance(0.03)) selector.$comment = 'why';
      if (chance(0.05)) selector = invalidSelector(ctx, selector);
      if (!(await check(selector, docs, it))) break;
    }
  }
  tool.close();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${stats.selectors} selectors (${stats.decisive} matching some but not all documents), ` +
              `${stats.docs} document matches compared (${stats.matched} true), ` +
              `${stats.bothErrors} rejected by both, ${stats.disagreements} disagreements, ${secs} s`);
  if (stats.disagreements) {
    console.log('Disagreements, shrunk (count, selector, document, answers):');
    const sorted = [...classes].sort((x, y) => y[1] - x[1]);
    for (const [line, n] of sorted.slice(0, 40)) console.log(`  ${n}x ${line}`);
    if (sorted.length > 40) console.log(`  ... and ${sorted.length - 40} more`);
    console.log(`FAIL (reproduce with DDP_RANDOM_SEED=${seed} DDP_RANDOM_ITERATIONS=${iterations})`);
    process.exit(1);
  }
  console.log('PASS');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
