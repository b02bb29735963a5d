// SPDX-License-Identifier: MIT
// A JavaScript ViewAssembler for presenceagg's published views (docs/wire-format.md): collects
// the parts of each round, applies snapshots and diffs, detects gaps and epoch changes, and
// verifies the content hash (FNV-1a-64 with BigInt). The state renders to the same canonical
// bytes as the C++ ViewAssembler when messages carry their data as JSON text.

export const Status = Object.freeze({
  Applied: 'applied',
  PartStored: 'part-stored',
  Gap: 'gap',
  HashMismatch: 'hash-mismatch',
  Malformed: 'malformed',
  OtherView: 'other-view',
  Stale: 'stale',
});

const VIEWS = { 'by-channel': 3, 'by-client': 3, 'by-connection': 3, counts: 2 };
const RETIRED_EPOCHS = 16;

// ---- content hash ---------------------------------------------------------------------------

const MASK = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const utf8 = new TextEncoder();

/** FNV-1a-64 over fields, each as UTF-8 followed by a NUL byte. Returns a BigInt. */
export function fnv1a64(fields) {
  let h = FNV_OFFSET;
  for (const field of fields) {
    for (const b of utf8.encode(String(field))) {
      h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
    }
    h = (h * FNV_PRIME) & MASK; // the NUL separator (h ^ 0 == h)
  }
  return h;
}

export const hex64 = (h) => h.toString(16).padStart(16, '0');

// ---- scanning valid JSON text (positions of raw values) -------------------------------------

const isWs = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipWs(s, i) {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function stringEnd(s, i) {
  // s[i] is the opening quote; returns the index after the closing quote.
  for (i++; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  throw new Error('unterminated string');
}

function valueEnd(s, i) {
  const c = s[i];
  if (c === '"') return stringEnd(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < s.length; i++) {
      const d = s[i];
      if (d === '"') i = stringEnd(s, i) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        if (--depth === 0) return i + 1;
      }
    }
    throw new Error('unterminated value');
  }
  while (i < s.length && !',}] \t\n\r'.includes(s[i])) i++;
  return i;
}

/** The members of the object starting at s[i]: [key, rawStart, rawEnd]. */
function members(s, i) {
  const out = [];
  if (s[i] !== '{') throw new Error('object expected');
  i = skipWs(s, i + 1);
  if (s[i] === '}') return out;
  for (;;) {
    const keyEnd = stringEnd(s, i);
    const key = JSON.parse(s.slice(i, keyEnd));
    i = skipWs(s, keyEnd);
    i = skipWs(s, i + 1); // ':'
    const end = valueEnd(s, i);
    out.push([key, i, end]);
    i = skipWs(s, end);
    if (s[i] === '}') return out;
    i = skipWs(s, i + 1); // ','
  }
}

const INTEGER = /^-?\d+$/;

/** Parses one message's data text into a part; throws on anything off. */
function parsePart(text) {
  const data = JSON.parse(text); // validates the whole text first
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('data is not an object');
  if (data.v !== 1) throw new Error('unsupported "v"');
  const depth = VIEWS[data.view];
  if (!depth) throw new Error('unknown "view"');
  const hex = /^[0-9a-f]{16}$/;
  if (typeof data.epoch !== 'string' || !hex.test(data.epoch)) throw new Error('bad "epoch"');
  if (typeof data.hash !== 'string' || !hex.test(data.hash)) throw new Error('bad "hash"');
  if (data.kind !== 'snapshot' && data.kind !== 'diff') throw new Error('bad "kind"');
  const uint = (v) => Number.isSafeInteger(v) && v >= 0;
  if (!uint(data.seq) || data.seq === 0) throw new Error('bad "seq"');
  if (data.kind === 'diff' && !uint(data.base)) throw new Error('diff without "base"');
  if (!uint(data.part) || !uint(data.parts) || data.part >= data.parts) throw new Error('bad "part"/"parts"');
  if (typeof data.body !== 'object' || data.body === null || Array.isArray(data.body)) throw new Error('bad "body"');

  const top = members(text, skipWs(text, 0));
  const body = top.filter(([k]) => k === 'body');
  if (body.length !== 1) throw new Error('one "body" expected');
  const leaves = [];
  const walk = (start, path) => {
    for (const [key, s, e] of members(text, start)) {
      const p = [...path, key];
      if (p.length === depth) leaves.push(makeLeaf(data.view, p, text.slice(s, e)));
      else if (text[s] === '{') walk(s, p);
      else throw new Error('a leaf above the view depth');
    }
  };
  walk(body[0][1], []);
  return {
    view: data.view, epoch: data.epoch, seq: data.seq, kind: data.kind, base: data.base ?? 0,
    part: data.part, parts: data.parts, hash: BigInt('0x' + data.hash), leaves,
  };
}

function makeLeaf(view, path, raw) {
  if (raw === 'null') return { path, raw, removed: true, hash: 0n };
  const fields = raw[0] === '{' ? new Map(members(raw, 0).map(([k, s, e]) => [k, raw.slice(s, e)])) : null;
  const int = (t) => {
    if (t === undefined || !INTEGER.test(t)) throw new Error('integer expected');
    return BigInt(t).toString();
  };
  let hash;
  if (view !== 'counts') {
    const id = fields && fields.get('id');
    if (id === undefined || id[0] !== '"') throw new Error('a member leaf needs "id"');
    const who = view === 'by-channel' ? [path[0], path[1], path[2]]
      : view === 'by-client' ? [path[1], path[0], path[2]]
        : [path[2], path[1], path[0]];
    hash = fnv1a64([...who, JSON.parse(id), int(fields.get('timestamp'))]);
  } else if (path[0] === 'channels') {
    if (!fields) throw new Error('a channel count leaf must be an object');
    const suspect = fields.get('suspect');
    if (suspect !== undefined && suspect !== 'true' && suspect !== 'false') throw new Error('bad "suspect"');
    hash = fnv1a64(['channels', path[1], int(fields.get('members')), suspect === 'true' ? 1 : 0]);
  } else if (path[0] === 'totals') {
    hash = fnv1a64(['totals', path[1], int(raw)]);
  } else {
    throw new Error('counts leaves live under "channels" or "totals"');
  }
  return { path, raw, removed: false, hash };
}

// ---- canonical rendering --------------------------------------------------------------------

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function comparePaths(a, b) {
  for (let i = 0; i < a.bytes.length; i++) {
    const c = compareBytes(a.bytes[i], b.bytes[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** Nested objects of fixed depth from leaves, keys in UTF-8 byte order, compact. */
export function renderTree(entries, depth) {
  const sorted = entries
    .map((e) => ({ ...e, bytes: e.path.map((p) => utf8.encode(p)) }))
    .sort(comparePaths);
  let out = '{';
  let prev = null;
  for (const e of sorted) {
    let common = 0;
    if (prev) {
      while (common < depth - 1 && prev[common] === e.path[common]) common++;
      out += '}'.repeat(depth - 1 - common) + ',';
    }
    for (let i = common; i < depth; i++) {
      out += JSON.stringify(e.path[i]) + ':' + (i + 1 < depth ? '{' : '');
    }
    out += e.raw;
    prev = e.path;
  }
  if (prev) out += '}'.repeat(depth - 1);
  return out + '}';
}

// ---- the assembler --------------------------------------------------------------------------

export class ViewAssembler {
  /** @param {{view?: string, maxParts?: number}} options follow only `view` (default: the first seen) */
  constructor(options = {}) {
    this.expectedView = options.view ?? null;
    this.maxParts = options.maxParts ?? 100000;
    this.view = this.expectedView;
    this.epoch = null;
    this.retired = [];
    this.seq = 0;
    this.decided = 0;
    this.hasState = false;
    this.state = new Map(); // JSON.stringify(path) -> {path, raw, hash}
    this.stateHash = 0n;
    this.round = null;
    this.gaps = 0;
    this.mismatches = 0;
    this.malformed = 0;
    this.lastError = '';
  }

  /**
   * One Ably message: a REST history JSON line (string) or a message object
   * ({name, data, encoding}) as the SDK delivers it (data already an object), or the bare data.
   */
  add(message) {
    let part;
    try {
      const msg = typeof message === 'string' ? JSON.parse(message) : message;
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object');
      let text;
      if ('v' in msg && 'body' in msg) {
        text = typeof message === 'string' ? message : JSON.stringify(msg);
      } else if (typeof msg.data === 'string') {
        const enc = msg.encoding ?? '';
        if (enc !== '' && enc !== 'json' && enc !== 'utf-8/json') throw new Error('unsupported encoding');
        text = msg.data;
      } else if (typeof msg.data === 'object' && msg.data !== null && !msg.encoding) {
        text = JSON.stringify(msg.data); // decoded by the SDK
      } else {
        throw new Error('"data" is neither JSON text nor an object');
      }
      part = parsePart(text);
      if (typeof msg.name === 'string' && !('v' in msg) && msg.name !== part.kind) {
        throw new Error('message name does not match "kind"');
      }
    } catch (e) {
      this.malformed++;
      this.lastError = e.message;
      return Status.Malformed;
    }
    return this.#accept(part);
  }

  #invalidate() {
    this.hasState = false;
    this.state = new Map();
    this.stateHash = 0n;
  }

  #accept(p) {
    if (this.view !== null && p.view !== this.view) return Status.OtherView;
    if (p.parts > this.maxParts) {
      this.malformed++;
      this.lastError = 'more parts than the bound';
      return Status.Malformed;
    }
    this.view = p.view;
    if (p.epoch !== this.epoch) {
      if (this.retired.includes(p.epoch)) return Status.Stale;
      if (this.epoch !== null) {
        this.retired.push(this.epoch);
        if (this.retired.length > RETIRED_EPOCHS) this.retired.shift();
      }
      this.epoch = p.epoch;
      this.seq = 0;
      this.decided = 0;
      this.round = null;
      this.#invalidate();
    }
    if (p.seq <= this.decided) return Status.Stale;
    if (this.round && p.seq < this.round.seq) return Status.Stale;
    if (this.round && p.seq > this.round.seq) this.round = null;
    if (!this.round) {
      const gap = p.kind === 'diff' && (!this.hasState || p.base !== this.seq);
      if (gap) {
        this.gaps++;
        this.#invalidate();
      }
      this.round = { seq: p.seq, kind: p.kind, base: p.base, parts: p.parts, hash: p.hash, gap,
        received: new Array(gap ? 0 : p.parts), count: 0 };
    } else if (this.round.kind !== p.kind || this.round.parts !== p.parts || this.round.hash !== p.hash
      || (p.kind === 'diff' && this.round.base !== p.base)) {
      this.malformed++;
      this.lastError = 'part disagrees with its round';
      return Status.Malformed;
    }
    const r = this.round;
    if (r.gap) return Status.Gap;
    if (r.received[p.part]) return Status.Stale;
    r.received[p.part] = p.leaves;
    if (++r.count < r.parts) return Status.PartStored;
    return this.#complete();
  }

  #put(map, leaf, hash) {
    const key = JSON.stringify(leaf.path);
    const old = map.get(key);
    if (old) hash = (hash - old.hash) & MASK;
    if (leaf.removed) {
      map.delete(key);
      return hash;
    }
    map.set(key, { path: leaf.path, raw: leaf.raw, hash: leaf.hash });
    return (hash + leaf.hash) & MASK;
  }

  #complete() {
    const r = this.round;
    this.round = null;
    this.decided = r.seq;
    let map = this.state;
    let hash = this.stateHash;
    if (r.kind === 'snapshot') {
      map = new Map();
      hash = 0n;
    }
    for (const leaves of r.received) for (const leaf of leaves) hash = this.#put(map, leaf, hash);
    this.state = map;
    this.stateHash = hash;
    if (hash !== r.hash) {
      this.mismatches++;
      this.#invalidate();
      return Status.HashMismatch;
    }
    this.hasState = true;
    this.seq = r.seq;
    return Status.Applied;
  }

  /** 16 lowercase hex digits of the state's content hash. */
  hash() {
    return hex64(this.stateHash);
  }

  /** The canonical JSON of the view ('' without a valid state). */
  stateJson() {
    if (!this.hasState) return '';
    return renderTree([...this.state.values()], VIEWS[this.view]);
  }

  /** The state as a plain object (parsed from stateJson()), or null. */
  stateObject() {
    return this.hasState ? JSON.parse(this.stateJson()) : null;
  }
}
