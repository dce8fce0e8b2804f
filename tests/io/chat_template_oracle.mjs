#!/usr/bin/env node
// chat_template_oracle.mjs: getp's chat prompts against the official gpt-oss chat template.
//
//   node tests/io/chat_template_oracle.mjs GETP RANKS CONVERSATIONS.jsonl SCRATCH_DIR
//
// Each line of CONVERSATIONS (tests/io/chat_conversations.jsonl, a getp JSONL request file)
// is rendered twice:
//  - the oracle: the template file itself (../shared/oracles/gpt-oss-chat-template.jinja
//    beside the repository, or $GETP_SHARED_DIR/oracles/...) rendered with the npm package
//    @huggingface/jinja, the date pinned, then tokenized with gpt-tokenizer's o200k_harmony,
//    the special tokens the template writes as text becoming their ids (see tokenize());
//  - getp: `getp -m tokenize` on the file (the real reader), once as JSONL and once wrapped
//    as an OpenAI Batch file, and once more with --reasoning-effort low (the CLI default).
// The ids must be identical. Where the template fails (raise_exception, or an operation on
// an undefined value) getp must report an error for that line; a line with "expect_error"
// must fail in getp with that text in its message (getp refuses a few inputs the template
// would render). Before rendering, a request gets the same reading getp documents
// (docs/io_formats.md, "Chats"): a null field counts as absent, text parts are joined,
// "reasoning_content"/"reasoning" are "thinking", tool-call arguments given as JSON text are
// parsed. A missing template file fails the test: it never skips.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const DATE = '2024-02-29'; // pinned; a leap day, so that a wrong clock cannot match by chance
let pass = 0, fail = 0;
const check = (ok, what) => {
  if (ok) pass++;
  else { fail++; console.log(`FAIL: ${what}`); }
};
const finish = (code) => {
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(code ?? (fail ? 1 : 0));
};

const [getp, ranks, convPath, scratch] = process.argv.slice(2);
if (!scratch) {
  console.error('usage: node chat_template_oracle.mjs GETP RANKS CONVERSATIONS.jsonl SCRATCH_DIR');
  process.exit(2);
}
const shared = process.env.GETP_SHARED_DIR || path.resolve(repo, '..', 'shared');
const templatePath = path.join(shared, 'oracles', 'gpt-oss-chat-template.jinja');
if (!fs.existsSync(templatePath)) {
  console.log(`FAIL: the chat template oracle ${templatePath} is missing (it lives in shared/ beside ` +
              'the repository; set GETP_SHARED_DIR to the folder that holds oracles/)');
  fail++;
  finish(1);
}
const require = createRequire(path.join(repo, 'tools', 'package.json'));
let Template, enc;
try {
  ({ Template } = require('@huggingface/jinja'));
  const h = require('gpt-tokenizer/encoding/o200k_harmony');
  enc = h.default ?? h;
} catch (e) {
  console.log(`FAIL: cannot load @huggingface/jinja / gpt-tokenizer (npm ci --prefix tools): ${e.message}`);
  fail++;
  finish(1);
}

// The template asks strftime_now for the date, which reads `new Date()`: pin that day
// (noon local time, so no time zone moves it).
const RealDate = Date;
const [y, m, d] = DATE.split('-').map(Number);
globalThis.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(y, m - 1, d, 12, 0, 0);
    else super(...args);
  }
};
const template = new Template(fs.readFileSync(templatePath, 'utf8'));

// getp's reading of a request (docs/io_formats.md), applied before the template sees it.
const dropNulls = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
const joinParts = (v) => (Array.isArray(v) ? v.map((p) => p.text).join('') : v);
function normalize(msg) {
  const m = dropNulls(msg);
  if ('content' in m && !(m.role === 'tool' && typeof m.content === 'object' && !Array.isArray(m.content)))
    m.content = joinParts(m.content);
  for (const alias of ['reasoning_content', 'reasoning']) {
    if (m.role === 'assistant' && alias in m) {
      m.thinking = m[alias];
      delete m[alias];
    }
  }
  if ('thinking' in m) m.thinking = joinParts(m.thinking);
  if (Array.isArray(m.tool_calls)) {
    m.tool_calls = m.tool_calls.map((tc) => {
      const c = dropNulls(tc);
      const f = c.function && typeof c.function === 'object' ? dropNulls(c.function) : null;
      const target = f ?? c;
      if (typeof target.arguments === 'string') target.arguments = JSON.parse(target.arguments);
      if (f) c.function = f;
      return c;
    });
  }
  return m;
}

// The template writes its special tokens as text; a tokenizer that allows special tokens
// splits the text at them and encodes the pieces between as ordinary text. gpt-tokenizer
// 4.0.0's `allowedSpecial: 'all'` finds only the first special of a text (its
// findNextSpecialToken adds the search offset twice), so the split is done here: every
// `<|name|>` that the encoding knows as one special token becomes its id.
const specialId = (s) => {
  try {
    const ids = enc.encode(s, { allowedSpecial: 'all' });
    return ids.length === 1 && ids[0] >= 199998 ? ids[0] : null;
  } catch {
    return null;
  }
};
function tokenize(text) {
  const ids = [];
  let from = 0;
  for (const m of text.matchAll(/<\|[a-z_0-9]+\|>/g)) {
    const id = specialId(m[0]);
    if (id === null) continue;
    if (m.index > from) ids.push(...enc.encode(text.slice(from, m.index), { disallowedSpecial: new Set() }));
    ids.push(id);
    from = m.index + m[0].length;
  }
  if (from < text.length) ids.push(...enc.encode(text.slice(from), { disallowedSpecial: new Set() }));
  return ids;
}

function oracle(req, effortDefault) {
  let ctx;
  try {
    ctx = { messages: req.messages.map(normalize), add_generation_prompt: true };
  } catch (e) { // arguments that are not JSON: no request to render
    return { error: e.message };
  }
  const effort = req.reasoning_effort ?? effortDefault;
  if (effort != null) ctx.reasoning_effort = effort;
  if (req.model_identity != null) ctx.model_identity = req.model_identity;
  if (req.tools != null && req.tool_choice !== 'none') ctx.tools = req.tools;
  let text;
  try {
    text = template.render(ctx);
  } catch (e) {
    return { error: e.message };
  }
  const ids = tokenize(text);
  return { ids, text };
}

function runGetp(file, extra) {
  let out;
  try {
    out = execFileSync(getp, ['-m', 'tokenize', '-i', file, '-z', ranks, '--date', DATE, ...extra],
                       { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    if (e.status !== 1 || typeof e.stdout !== 'string') throw e; // 1: some requests failed
    out = e.stdout;
  }
  return out.split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
}

const reqs = fs.readFileSync(convPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
fs.mkdirSync(scratch, { recursive: true });
const batchPath = path.join(scratch, 'chat_conversations.batch.jsonl');
fs.writeFileSync(batchPath, reqs.map((r, i) => {
  const { id, expect_error, template_fails, ...body } = r;
  return JSON.stringify({ custom_id: String(id ?? i), method: 'POST', url: '/v1/chat/completions', body });
}).join('\n') + '\n');

const runs = [
  { name: 'jsonl', file: convPath, extra: [], effort: undefined },
  { name: 'batch', file: batchPath, extra: [], effort: undefined },
  { name: 'jsonl --reasoning-effort low', file: convPath, extra: ['--reasoning-effort', 'low'], effort: 'low' },
];
// The version of an npm package whose exports hide its package.json.
function versionOf(pkg) {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
}

let rendered = 0;
for (const run of runs) {
  const got = runGetp(run.file, run.extra);
  check(got.length === reqs.length, `${run.name}: getp printed ${got.length} lines for ${reqs.length} requests`);
  reqs.forEach((req, i) => {
    const name = `${run.name}: line ${i + 1} (${req.id})`;
    const want = oracle(req, run.effort);
    const g = got[i] ?? { error: '(no line)' };
    const gerr = Array.isArray(g) ? null : String(g.error);
    if (req.template_fails) check(want.error !== undefined, `${name}: the template renders it (template_fails)`);
    if (req.expect_error !== undefined) {
      check(gerr !== null && gerr.includes(req.expect_error),
            `${name}: expected an error with "${req.expect_error}", got ${gerr ?? 'ids'}`);
      return;
    }
    if (want.error) {
      check(gerr !== null, `${name}: the template fails (${want.error}) but getp rendered it`);
      return;
    }
    if (gerr !== null) {
      check(false, `${name}: getp failed: ${gerr}`);
      return;
    }
    let k = 0;
    while (k < want.ids.length && k < g.length && want.ids[k] === g[k]) k++;
    const same = k === want.ids.length && k === g.length;
    if (!same) {
      const ctx = (ids) => JSON.stringify(enc.decode(ids.slice(Math.max(0, k - 8), k + 8)));
      console.log(`  oracle ${want.ids.length} ids, getp ${g.length}; first difference at ${k}:\n` +
                  `  oracle ...${ctx(want.ids)}...\n  getp   ...${ctx(g)}...`);
    }
    check(same, `${name}: ids differ from the template's`);
    if (same && run.name === 'jsonl') rendered++;
  });
}
check(rendered >= 50, `only ${rendered} conversations rendered identically (need >= 50)`);
console.log(`chat_template_oracle: ${reqs.length} requests, ${rendered} rendered by both, ` +
            `@huggingface/jinja ${versionOf('@huggingface/jinja')}, ` +
            `gpt-tokenizer ${require('gpt-tokenizer/package.json').version}, template ${templatePath}`);
finish();
