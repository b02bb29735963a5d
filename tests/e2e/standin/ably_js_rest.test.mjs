// SPDX-License-Identifier: MIT
// Faithfulness test of ably-standin: the official ably-js SDK (REST client) must be able to
// use it as if it were Ably. Run with `node --test` (meson test --suite e2e does); needs
// PRESENCEAGG_STANDIN (the ably-standin binary) and `npm ci` in tests/e2e.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(e2eDir, 'package.json'));

let Ably;
try {
  Ably = require('ably');
} catch (err) {
  throw new Error(
    `the 'ably' npm package is not installed: run "npm ci" in ${e2eDir} (${err.message})`,
  );
}

const binary = process.env.PRESENCEAGG_STANDIN;
if (!binary) {
  throw new Error('PRESENCEAGG_STANDIN must name the ably-standin binary (meson test sets it)');
}

const KEY = 'appid.keyid:secret';

/** Starts ably-standin and resolves once it prints "listening 127.0.0.1:<port>". */
function startStandin(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`ably-standin did not start in time (stdout: ${JSON.stringify(out)})`));
    }, 10_000);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = /^listening 127\.0\.0\.1:(\d+)\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        const port = Number(match[1]);
        const exited = new Promise((done) => proc.on('exit', (code, signal) => done({ code, signal })));
        resolve({
          port,
          base: `http://127.0.0.1:${port}`,
          async stop() {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

function restClient(standin, extra = {}) {
  return new Ably.Rest({
    key: KEY,
    endpoint: '127.0.0.1',
    port: standin.port,
    tls: false,
    useBinaryProtocol: false,
    fallbackHosts: [],
    logLevel: 0,
    ...extra,
  });
}

async function control(standin, method, route, body) {
  const res = await fetch(standin.base + route, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${route} answered ${res.status}: ${text}`);
  return text;
}

describe('ably-js REST client against ably-standin', () => {
  let standin;
  let rest;

  before(async () => {
    standin = await startStandin(['--batch-presence-cap', '5']);
    rest = restClient(standin);
  });

  after(async () => {
    const { code, signal } = await standin.stop();
    assert.equal(signal, null, 'ably-standin died from a signal');
    assert.equal(code, 0, 'ably-standin exited with an error');
  });

  test('time() returns the server clock', async () => {
    const t = await rest.time();
    assert.equal(typeof t, 'number');
    assert.ok(Math.abs(t - Date.now()) < 60_000, `time ${t} is far from ${Date.now()}`);
  });

  test('published string, object and binary data come back from history decoded', async () => {
    const channel = rest.channels.get('history:mixed');
    await channel.publish('greeting', 'hello');
    await channel.publish('object', { a: 1, b: [true, null, 'x'] });
    await channel.publish({ name: 'binary', data: Buffer.from([0, 1, 2, 255]) });

    const page = await channel.history({ direction: 'forwards' });
    assert.deepEqual(
      page.items.map((m) => m.name),
      ['greeting', 'object', 'binary'],
    );
    assert.equal(page.items[0].data, 'hello');
    assert.deepEqual(page.items[1].data, { a: 1, b: [true, null, 'x'] });
    assert.ok(Buffer.isBuffer(page.items[2].data) || page.items[2].data instanceof Uint8Array);
    assert.deepEqual([...page.items[2].data], [0, 1, 2, 255]);
    for (const m of page.items) {
      assert.equal(typeof m.timestamp, 'number');
      assert.match(m.id, /.+:\d+$/, 'ably-js idempotent ids are kept');
    }

    // The stand-in keeps the wire form exactly as ably-js sent it.
    const lines = (await control(standin, 'GET', '/_control/published?channel=history%3Amixed'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(lines[0].data, 'hello');
    assert.equal(lines[0].encoding, undefined);
    assert.equal(lines[1].encoding, 'json');
    assert.deepEqual(JSON.parse(lines[1].data), { a: 1, b: [true, null, 'x'] });
    assert.equal(lines[2].encoding, 'base64');
  });

  test('history paginates backwards with next()', async () => {
    const channel = rest.channels.get('history:pages');
    for (let i = 0; i < 5; i++) await channel.publish('n', String(i));
    let page = await channel.history({ limit: 2 });
    const seen = [];
    for (;;) {
      seen.push(...page.items.map((m) => m.data));
      if (!page.hasNext()) break;
      page = await page.next();
    }
    assert.deepEqual(seen, ['4', '3', '2', '1', '0']);
  });

  test('presence.get returns the members set through the control API', async () => {
    await control(standin, 'POST', '/_control/presence', {
      channel: 'room',
      replace: true,
      members: [
        { clientId: 'ann', connectionId: 'connA', id: 'connA:1:0', data: 'plain' },
        { clientId: 'bob', connectionId: 'connB', id: 'connB:4:0', data: '{"seat":7}', encoding: 'json' },
        { clientId: 'bob', connectionId: 'connC', id: 'connC:2:1' },
      ],
    });
    const channel = rest.channels.get('room');
    const page = await channel.presence.get();
    assert.equal(page.items.length, 3);
    const byConn = Object.fromEntries(page.items.map((m) => [m.connectionId, m]));
    assert.equal(byConn.connA.clientId, 'ann');
    assert.equal(byConn.connA.action, 'present');
    assert.equal(byConn.connA.data, 'plain');
    assert.equal(byConn.connA.id, 'connA:1:0');
    assert.deepEqual(byConn.connB.data, { seat: 7 });

    const bobs = await channel.presence.get({ clientId: 'bob' });
    assert.deepEqual(bobs.items.map((m) => m.connectionId).sort(), ['connB', 'connC']);

    let limited = await channel.presence.get({ limit: 2 });
    assert.equal(limited.items.length, 2);
    assert.ok(limited.hasNext());
    limited = await limited.next();
    assert.equal(limited.items.length, 1);
    assert.ok(!limited.hasNext());
  });

  test('batchPresence returns the protocol 6 BatchResult shape', async () => {
    await control(standin, 'POST', '/_control/presence', {
      channel: 'batch:a',
      members: [{ clientId: 'c1', connectionId: 'k1' }],
    });
    await control(standin, 'POST', '/_control/channel_errors', {
      channel: 'batch:denied',
      statusCode: 401,
      code: 40160,
    });
    const result = await rest.batchPresence(['batch:a', 'batch:denied', 'batch:empty']);
    assert.equal(result.successCount, 2);
    assert.equal(result.failureCount, 1);
    assert.equal(result.results[0].channel, 'batch:a');
    assert.equal(result.results[0].presence.length, 1);
    assert.equal(result.results[0].presence[0].clientId, 'c1');
    assert.equal(result.results[1].channel, 'batch:denied');
    assert.equal(result.results[1].error.statusCode, 401);
    assert.equal(result.results[1].error.code, 40160);
    assert.ok(!('presence' in result.results[1]));
    assert.deepEqual(result.results[2].presence, []);

    // The same through rest.request, and the per-request channel cap.
    const viaRequest = await rest.request('get', '/presence', 6, { channels: 'batch:a' });
    assert.equal(viaRequest.statusCode, 200);
    assert.equal(viaRequest.items[0].successCount, 1);
    const tooMany = await rest.request('get', '/presence', 6, { channels: 'a,b,c,d,e,f' });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.errorCode, 90010);
  });

  test("rest.request('get', '/channels') paginates with next()", async () => {
    const names = ['enum:a', 'enum:b', 'enum:c', 'enum:d', 'enum:e'];
    await control(standin, 'POST', '/_control/channels', { names });
    let page = await rest.request('get', '/channels', 6, { limit: 2, prefix: 'enum:' });
    const seen = [];
    for (let i = 0; i < 10; i++) {
      assert.equal(page.statusCode, 200);
      seen.push(...page.items);
      if (!page.hasNext()) break;
      page = await page.next();
    }
    assert.deepEqual(seen, names);

    // Protocol 2 defaults to ChannelDetails.
    const details = await rest.request('get', '/channels', 2, { prefix: 'enum:a' });
    assert.equal(details.items[0].channelId, 'enum:a');
    assert.equal(details.items[0].status.isActive, true);
  });

  test('channel.status() reads ChannelDetails with occupancy', async () => {
    const details = await rest.channels.get('room').status();
    assert.equal(details.channelId, 'room');
    assert.equal(details.status.occupancy.metrics.presenceMembers, 3);
  });

  test('a publish over the size limit fails with 40009 from the server', async () => {
    // Lift ably-js's own check so the stand-in is the one that refuses.
    const big = restClient(standin, { maxMessageSize: 1_000_000 });
    await assert.rejects(big.channels.get('big').publish('n', 'x'.repeat(70_000)), (err) => {
      assert.equal(err.code, 40009);
      assert.equal(err.statusCode, 413);
      return true;
    });
    const lines = await control(standin, 'GET', '/_control/published?channel=big');
    assert.equal(lines, '');
  });

  test('a wrong key is answered with 401 and 40101', async () => {
    const wrong = restClient(standin, { key: 'appid.keyid:not-the-secret' });
    await assert.rejects(wrong.channels.get('room').history(), (err) => {
      assert.equal(err.statusCode, 401);
      assert.equal(err.code, 40101);
      return true;
    });
    const viaRequest = await wrong.request('get', '/channels', 6, {});
    assert.equal(viaRequest.statusCode, 401);
    assert.equal(viaRequest.errorCode, 40101);
  });

  test('an injected 503 reaches the SDK as an Ably error', async () => {
    await control(standin, 'POST', '/_control/faults', {
      method: 'GET',
      path: '^/channels/faulty/messages$',
      status: 503,
      code: 50300,
      message: 'injected',
      times: 1,
    });
    await assert.rejects(rest.channels.get('faulty').history(), (err) => {
      assert.equal(err.statusCode, 503);
      assert.equal(err.code, 50300);
      return true;
    });
    const ok = await rest.channels.get('faulty').history();
    assert.equal(ok.items.length, 0);
  });
});
