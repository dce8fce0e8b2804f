#!/usr/bin/env node
// make_corpus.mjs: a deterministic (seeded) corpus of test strings for the
// o200k_harmony tokenizer, and the oracle ids from the npm package gpt-tokenizer.
//
//   node tests/tokenizer/make_corpus.mjs CORPUS.jsonl ORACLE.txt [--seed N]
//
// CORPUS.jsonl: one JSON string per line. ORACLE.txt: line i = the ids of string i,
// space-separated, from gpt-tokenizer's o200k_harmony encode with special-token
// text treated as ordinary text (what getp does with a raw prompt).
//
// Left out on purpose: U+FEFF and U+0085, where JavaScript's \s and tiktoken's
// (Rust) \s disagree; test_tokenizer.c checks those against tiktoken's ids. Code
// points come from blocks assigned before Unicode 14, so the oracle's (ICU) and
// PCRE2's Unicode tables agree.
import { createRequire } from 'node:module';
import fs from 'node:fs';

function loadEncoder() {
  const here = createRequire(import.meta.url);
  const tools = createRequire(new URL('../../tools/package.json', import.meta.url));
  for (const req of [tools, here]) {
    try {
      return req('gpt-tokenizer/encoding/o200k_harmony');
    } catch { /* try the next place */ }
  }
  console.error('make_corpus: cannot load the npm package gpt-tokenizer (npm ci --prefix tools, or NODE_PATH)');
  process.exit(3);
}

const argv = process.argv.slice(2);
let seed = 20250807;
const files = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--seed') seed = Number(argv[++i]);
  else files.push(argv[i]);
}
if (files.length !== 2) {
  console.error('usage: node make_corpus.mjs CORPUS.jsonl ORACLE.txt [--seed N]');
  process.exit(2);
}

// mulberry32: small, seeded, the same on every machine.
let state = seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + int(hi - lo + 1));
const repeat = (n, f) => Array.from({ length: n }, f).join('');

// Character sources by script (code point ranges of long-assigned characters).
const scripts = {
  latin: () => range(0x61, 0x7a),
  LATIN: () => range(0x41, 0x5a),
  accented: () => range(0xc0, 0x17e),
  greek: () => range(0x3b1, 0x3c9),
  cyrillic: () => range(0x410, 0x44f),
  hebrew: () => range(0x5d0, 0x5ea),
  arabic: () => (rand() < 0.8 ? range(0x621, 0x64a) : range(0x64b, 0x652)), // letters, harakat
  devanagari: () => (rand() < 0.7 ? range(0x905, 0x939) : range(0x93e, 0x94d)), // letters, matras
  thai: () => (rand() < 0.8 ? range(0xe01, 0xe2e) : pick(['\u0e31', '\u0e34', '\u0e35', '\u0e48', '\u0e49', '\u0e4c'])),
  cjk: () => range(0x4e00, 0x9fa5),
  kana: () => (rand() < 0.5 ? range(0x3041, 0x3093) : range(0x30a1, 0x30f6)),
  hangul: () => range(0xac00, 0xd7a3),
  combining: () => range(0x300, 0x36f),
};
const scriptNames = Object.keys(scripts);
const word = (s, n) => repeat(n, scripts[s]);

const skin = ['\u{1f3fb}', '\u{1f3fc}', '\u{1f3fd}', '\u{1f3fe}', '\u{1f3ff}'];
const baseEmoji = ['\u{1f44d}', '\u{1f44b}', '\u{1f9d1}', '\u{1f469}', '\u{1f468}', '\u{1f600}', '\u{1f602}',
  '\u{1f680}', '\u2764\ufe0f', '\u{1f525}', '\u{1f4a9}', '\u2705', '\u{1f1fa}\u{1f1f8}', '\u{1f1ef}\u{1f1f5}'];
function emoji() {
  const r = rand();
  if (r < 0.3) return pick(baseEmoji);
  if (r < 0.55) return pick(['\u{1f44d}', '\u{1f44b}', '\u{1f9d1}', '\u270c']) + pick(skin);
  if (r < 0.8) { // ZWJ family / profession sequences
    const parts = Array.from({ length: 2 + int(3) }, () => pick(['\u{1f468}', '\u{1f469}', '\u{1f467}', '\u{1f466}']) + (rand() < 0.4 ? pick(skin) : ''));
    return parts.join('\u200d');
  }
  return pick(['\u{1f9d1}\u{1f3fd}\u200d\u{1f4bb}', '\u{1f3f3}\ufe0f\u200d\u{1f308}', '\u{1f469}\u{1f3fe}\u200d\u{1f680}', '\u{1f441}\u200d\u{1f5e8}']);
}

const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
function randomCase(s) { return [...s].map((c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join(''); }
const ws = [' ', '  ', '\t', '\n', '\r\n', '\r', '\n\n', ' \n', '\t\n', '\u00a0', '\u3000', '\u2028', '\u2003', '\x0b', '\x0c', '   \r\n  '];
const punct = ['.', ',', '!', '?', '/', '//', '\\', '-', '--', '...', ':', ';', '(', ')', '[', ']', '{', '}', '<', '>',
  '"', "'", '`', '~', '@', '#', '$', '%', '^', '&', '*', '_', '+', '=', '|', '\u2014', '\u201c', '\u201d', '\u2019',
  '\u00ab', '\u00bb', '\u3002', '\u3001', '\uff01', '\u00bf', '\u00a1', '\u2026', '\u180e'];
const digits = () => (rand() < 0.85 ? range(0x30, 0x39) : pick(['\u0663', '\u0967', '\uff15', '\u00b2', '\u00bd', '\u2160', '\u0e52']));
const specials = ['<|start|>', '<|end|>', '<|message|>', '<|channel|>', '<|return|>', '<|call|>', '<|constrain|>',
  '<|endoftext|>', '<|startoftext|>', '<|endofprompt|>', '<|reserved_200013|>', '<|im_start|>', '<|fim_prefix|>'];

// Generators: each returns one test string.
const gens = {
  script: () => repeat(1 + int(6), () => word(pick(scriptNames), 1 + int(9)) + pick([' ', ' ', '', '\n', ', '])),
  emoji: () => repeat(1 + int(5), () => emoji() + pick(['', ' ', 'a', ' hi', '\n', '!'])),
  contraction: () => repeat(1 + int(5), () => randomCase(word(pick(['latin', 'accented', 'cyrillic']), 1 + int(7))) +
    randomCase(pick(contractions)) + pick([' ', '', '?', "'", ' \n'])),
  digits: () => repeat(1 + int(4), () => pick(['', ' ', 'x', '$', '-', '.', ',']) + repeat(1 + int(rand() < 0.2 ? 60 : 12), digits)),
  whitespace: () => repeat(1 + int(6), () => pick(ws) + (rand() < 0.7 ? word(pick(['latin', 'cjk', 'cyrillic']), 1 + int(5)) : pick(punct))) +
    pick(['', ' ', '  ', '\n', '\r\n', '\t', ' \n ']),
  punct: () => repeat(1 + int(6), () => repeat(1 + int(5), () => pick(punct)) + pick(['', ' ', '\n', '\r\n', '/', 'ab', '12'])),
  code: () => pick(codeTemplates)(),
  url: () => pick(['https://', 'http://', 'ftp://', '']) + word('latin', 3 + int(8)) + pick(['.com', '.org', '.co.uk', '.io']) +
    repeat(int(4), () => '/' + word(pick(['latin', 'LATIN']), 1 + int(8))) + pick(['', '?q=' + word('latin', 4) + '&n=' + int(1000), '#frag', '/']),
  special: () => repeat(1 + int(3), () => pick(['', 'text ', ' ', '\n']) + pick(specials) + pick(['', ' ', 'x', '\n'])),
  mix: () => repeat(1 + int(12), () => {
    const r = rand();
    if (r < 0.35) return word(pick(scriptNames), 1 + int(6));
    if (r < 0.5) return pick(ws);
    if (r < 0.65) return pick(punct);
    if (r < 0.75) return repeat(1 + int(7), digits);
    if (r < 0.85) return emoji();
    if (r < 0.92) return pick(contractions);
    return pick(specials);
  }),
};
const ident = () => word('latin', 1 + int(8)) + (rand() < 0.3 ? '_' + word('latin', 1 + int(5)) : '') + (rand() < 0.2 ? String(int(100)) : '');
const codeTemplates = [
  () => `int ${ident()}(int ${ident()}) {\n    return ${ident()} * ${int(1000)};\n}\n`,
  () => `def ${ident()}(self, ${ident()}=None):\n\tif ${ident()} is None:\n\t\treturn []\n    return [x**2 for x in range(${int(99)})]\n`,
  () => `{"${ident()}": [${int(100)}, ${int(100000)}.${int(100)}, "${ident()}"], "ok": true}`,
  () => `<div class="${ident()}"><a href="/${ident()}/${ident()}.html">${ident()}</a></div>\r\n`,
  () => `for (size_t i = 0; i < n; i++) { a[i] += b[i] >> ${int(8)}; } // ${ident()}\n`,
  () => `SELECT ${ident()}, COUNT(*) FROM ${ident()} WHERE id >= ${int(9999)} GROUP BY 1;`,
  () => `  const ${ident()} = await fetch(\`/api/v${int(3)}/\${${ident()}}\`);\n`,
  () => `$ ls -la /usr/local/${ident()} | grep -E '^d' && echo "done" 2>&1\n`,
];

const corpus = [];
// Fixed edge cases first.
corpus.push('', ' ', '\n', '\r\n', '\r', '\t', 'a', 'A', '0', '!', '\u0000', 'a\u0000b', '  ', ' \n', 'a  ', 'a \n', 'a\n\n\nb',
  "I'm", "YOU'LL", "It'S", "we'Re", "they'VE", "he'D", "don't", "DON'T", "'s", "''s", "x's's",
  '1234567890', '12345678901', '3.14159', '1,000,000', '<|start|>', '<|endoftext|>', 'hello <|start|> world',
  'a\u180eb', 'a \u180e b', '\u180e\n', 'Hello, world!', ' Hello', 'HelloWorld', 'helloWORLD', 'ÀÉÎõü', 'Straße', 'ǅungla');
const plan = { script: 500, emoji: 250, contraction: 300, digits: 250, whitespace: 300, punct: 200, code: 200, url: 150,
  special: 100, mix: 500 };
for (const [name, n] of Object.entries(plan)) for (let i = 0; i < n; i++) corpus.push(gens[name]());
// Very long strings (10k characters): one piece each, or many.
corpus.push('a'.repeat(10000), word('latin', 10000), word('LATIN', 10000), randomCase(word('latin', 10000)),
  word('cjk', 10000), word('thai', 10000), repeat(10000, digits), ' '.repeat(10000) + 'x', '\n'.repeat(5000) + ' '.repeat(5000),
  repeat(10000, () => pick(punct)), repeat(2000, () => pick(['/', '.', '-', '_'])) + word('latin', 8000),
  Array.from(repeat(1000, () => gens.mix())).slice(0, 20000).join(''));
// Long whitespace runs (1,000 to 8,000 characters of mixed spaces, tabs, line
// breaks, U+00A0, U+3000...) between words, punctuation, digits or at the end:
// the split of a run PCRE2 steps back over (src/tokenizer.c match_limit). Not
// longer: gpt-tokenizer's time grows with the square of a run (100,000 spaces:
// ~25 s); test_tokenizer.c checks multi-megabyte runs against the split rule.
const wsRun = (n) => {
  const style = int(4);
  if (style === 0) return ' '.repeat(n);
  if (style === 1) return repeat(n, () => pick([' ', ' ', ' ', '\t']));
  if (style === 2) return repeat(n, () => pick([' ', '\n', '\r\n', '\t', ' ']));
  return repeat(n, () => pick(ws));
};
for (let i = 0; i < 40; i++)
  corpus.push(pick(['', 'a', 'Word', '1', '.', '\n']) + wsRun(1000 + int(7000)) +
    pick(['', 'x', 'Hello', '12', '!', '\u4e2d', ' y', '\n', "'s"]) + (rand() < 0.3 ? wsRun(1000 + int(3000)) : ''));

const enc = loadEncoder();
const opts = { disallowedSpecial: new Set() };
fs.writeFileSync(files[0], corpus.map((s) => JSON.stringify(s)).join('\n') + '\n');
fs.writeFileSync(files[1], corpus.map((s) => enc.encode(s, opts).join(' ')).join('\n') + '\n');
console.log(`make_corpus: seed ${seed}: ${corpus.length} strings -> ${files[0]}, oracle ids -> ${files[1]}`);
