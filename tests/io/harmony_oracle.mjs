#!/usr/bin/env node
// harmony_oracle.mjs: the expected harmony ids of tests/io/conversations.json, from
// gpt-tokenizer's o200k_harmony chat encoding (an implementation independent of ours).
//
//   node tests/io/harmony_oracle.mjs conversations.json expected.json
//
// Writes [{"name", "ids": [...]}, ...] in the order of the conversations. Two settings
// make gpt-tokenizer render what getp renders (docs/io_formats.md):
//  - an assistant message without a channel gets channel "final" (harmony puts a
//    channel on every assistant message; gpt-tokenizer renders none unless asked);
//  - disallowedSpecial = {} so that special-token text inside content is ordinary
//    text (gpt-tokenizer's default throws on it; getp never makes specials from text).
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(new URL('../../tools/package.json', import.meta.url));
let harmony;
try {
  harmony = require('gpt-tokenizer/encoding/o200k_harmony');
} catch (e) {
  console.error('harmony_oracle: cannot load the npm package gpt-tokenizer ' +
                '(run `npm ci --prefix tools`, or set NODE_PATH)');
  process.exit(3);
}
const enc = harmony.default ?? harmony;

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error('usage: node harmony_oracle.mjs conversations.json expected.json');
  process.exit(2);
}
const convs = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const out = convs.map(({ name, messages }) => {
  const chat = messages.map((m) => {
    const msg = { role: m.role, content: m.content };
    const channel = m.channel ?? (m.role === 'assistant' ? 'final' : undefined);
    if (channel !== undefined) msg.channel = channel;
    return msg;
  });
  const ids = enc.encodeChat(chat, 'gpt-oss-20b', { disallowedSpecial: new Set() });
  return { name, ids };
});
fs.writeFileSync(outPath, JSON.stringify(out) + '\n');
console.log(`harmony_oracle: ${out.length} conversations, gpt-tokenizer ` +
            require('gpt-tokenizer/package.json').version);
