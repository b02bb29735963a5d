// SPDX-License-Identifier: MIT
// Follows one presenceagg view channel with the official Ably SDK and prints the assembled view
// whenever a round applies. Environment: ABLY_API_KEY (required), CHANNEL (default
// "presence-update", the by-channel view).
import * as Ably from 'ably';

import { Status, ViewAssembler } from './assembler.mjs';

const key = process.env.ABLY_API_KEY;
const channelName = process.env.CHANNEL || 'presence-update';
if (!key) {
  console.error('set ABLY_API_KEY (and optionally CHANNEL)');
  process.exit(2);
}

// Deltas need the optional vcdiff decoder plugin; without it, full messages are delivered.
const plugins = {};
try {
  const mod = await import('@ably/vcdiff-decoder');
  plugins.vcdiff = mod.default ?? mod.vcdiffDecoder ?? mod;
} catch {
  // not installed: no deltas
}

const client = new Ably.Realtime({ key, plugins });
const params = { rewind: '1' }; // the last message at once; a diff then waits for a snapshot
if (plugins.vcdiff) params.delta = 'vcdiff';
const channel = client.channels.get(channelName, { params });

const assembler = new ViewAssembler();
await channel.subscribe((message) => {
  const status = assembler.add({
    id: message.id, name: message.name, data: message.data, encoding: message.encoding,
  });
  if (status === Status.Applied) {
    console.log(JSON.stringify({
      channel: channelName, view: assembler.view, epoch: assembler.epoch, seq: assembler.seq,
      hash: assembler.hash(), state: assembler.stateObject(),
    }));
  } else if (status !== Status.PartStored) {
    console.error(`${channelName}: ${status}${assembler.lastError ? ` (${assembler.lastError})` : ''}`);
  }
});
console.error(`following ${channelName}${plugins.vcdiff ? ' with vcdiff deltas' : ''}; Ctrl-C to stop`);

const stop = () => {
  client.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
