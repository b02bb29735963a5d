// SPDX-License-Identifier: MIT
// Runs the JS assembler over NDJSON streams recorded from the C++ publisher
// (tests/unit/publish/js_fixture_test.cpp writes them) and checks it reaches the same state,
// byte for byte, as the C++ ViewAssembler.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Status, ViewAssembler, fnv1a64, hex64 } from '../assembler.mjs';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const names = readdirSync(fixtures).filter((f) => f.endsWith('.ndjson')).map((f) => f.slice(0, -7));

test('there are fixtures', () => {
  assert.ok(names.length >= 4);
});

for (const name of names) {
  const lines = readFileSync(join(fixtures, `${name}.ndjson`), 'utf8').split('\n').filter((l) => l !== '');
  const expected = readFileSync(join(fixtures, `${name}.state.json`), 'utf8');
  const meta = JSON.parse(readFileSync(join(fixtures, `${name}.meta.json`), 'utf8'));

  test(`${name}: history lines assemble to the C++ state, byte for byte`, () => {
    const a = new ViewAssembler();
    for (const line of lines) assert.notEqual(a.add(line), Status.Malformed, a.lastError);
    assert.equal(a.hasState, true);
    assert.equal(a.view, meta.view);
    assert.equal(a.epoch, meta.epoch);
    assert.equal(a.seq, meta.seq);
    assert.equal(a.hash(), meta.hash);
    assert.equal(a.gaps, meta.gaps);
    assert.equal(a.stateJson(), expected);
  });

  test(`${name}: SDK-decoded messages (data as objects) give the same state`, () => {
    const a = new ViewAssembler();
    for (const line of lines) {
      const m = JSON.parse(line);
      a.add({ id: m.id, name: m.name, data: JSON.parse(m.data), encoding: null });
    }
    assert.equal(a.hash(), meta.hash);
    assert.deepEqual(a.stateObject(), JSON.parse(expected));
  });
}

test('the worked example hash of docs/wire-format.md', () => {
  assert.equal(hex64(fnv1a64(['presence:a', 'alice', 'c1', 'c1:1:0', '1700000000000'])), '851ffd791144a1de');
});

test('gaps, stale rounds, other views and malformed input', () => {
  const lines = readFileSync(join(fixtures, 'by-channel.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
  const a = new ViewAssembler({ view: 'by-channel' });
  const first = lines.findIndex((l) => JSON.parse(l).name === 'diff');
  assert.equal(a.add(lines[first]), Status.Gap);
  assert.equal(a.hasState, false);
  for (const line of lines) a.add(line);
  assert.equal(a.hasState, true);
  assert.equal(a.add(lines[0]), Status.Stale);
  for (const bad of ['', '{', '[]', '{"data":5}', '{"encoding":"base64","data":"eyJ2IjoxfQ=="}']) {
    assert.equal(a.add(bad), Status.Malformed, bad);
  }
  const counts = readFileSync(join(fixtures, 'counts.ndjson'), 'utf8').split('\n')[0];
  assert.equal(a.add(counts), Status.OtherView);
  assert.equal(a.hasState, true);
});

test('a tampered hash is a mismatch until the next snapshot', () => {
  const lines = readFileSync(join(fixtures, 'counts.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
  const a = new ViewAssembler();
  const tampered = lines.map((l) => {
    const m = JSON.parse(l);
    const d = JSON.parse(m.data);
    if (d.seq === 1) d.hash = '0000000000000001';
    return JSON.stringify({ ...m, data: JSON.stringify(d) });
  });
  let sawMismatch = false;
  for (const line of tampered) {
    if (a.add(line) === Status.HashMismatch) sawMismatch = true;
  }
  assert.ok(sawMismatch);
  assert.equal(a.mismatches, 1);
  assert.equal(a.hasState, true); // recovered at a later snapshot
});
