#!/usr/bin/env node
// make_chat_conversations.mjs: writes tests/io/chat_conversations.jsonl, the chats that
// tests/io/chat_template_oracle.mjs renders with the official chat template and with getp.
//
//   node tests/io/make_chat_conversations.mjs > tests/io/chat_conversations.jsonl
//
// One getp JSONL request per line: hand-written cases for each rule of the template, then
// chats drawn with a fixed seed (so the file is the same on every run). A line may carry
// "expect_error": a part of the error getp must report for it, and "template_fails": true
// where the template itself fails on it (getp ignores both fields); lines without
// expect_error must render to the template's ids, or fail where the template fails.
const lines = [];
const add = (id, req) => lines.push({ id, ...req });
const addT = (id, req) => add(id, { ...req, template_fails: true }); // the template itself fails too
const user = (content) => ({ role: 'user', content });
const asst = (content, extra = {}) => ({ role: 'assistant', content, ...extra });
const call = (name, args, extra = {}) => ({
  id: `call_${name}`, type: 'function', function: { name, arguments: args, ...extra } });
const tool = (content) => ({ role: 'tool', content });

const weather = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Get the current weather in a city.',
    parameters: {
      type: 'object',
      properties: {
        location: { type: 'string', description: 'City and country, e.g. Paris, France' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
      },
      required: ['location'],
    },
  },
};
const search = {
  type: 'function',
  function: {
    name: 'search_docs', description: 'Search the documentation.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        filters: {
          type: 'object', description: 'Optional filters',
          properties: {
            tags: { type: 'array', items: { type: 'string' } },
            since: { type: 'string', nullable: true },
            limits: { type: 'object', properties: { max: { type: 'integer' }, min: { type: 'number' } },
                      required: ['max'] },
          },
        },
        top_k: { type: 'integer', default: 5 },
        exact: { type: 'boolean', default: false },
      },
      required: ['query'],
    },
  },
};
const noParams = { type: 'function', function: { name: 'get_time', description: 'The time now.' } };

// ---- system message, instructions, effort, identity
add('user-only', { messages: [user('Hello, how are you?')] });
add('system-user', { messages: [{ role: 'system', content: 'You are a helpful assistant.' }, user('What is 2+2?')] });
add('developer-user', { messages: [{ role: 'developer', content: 'Answer in French.' }, user('Good morning')] });
add('empty-system', { messages: [{ role: 'system', content: '' }, user('Hi')] });
add('system-only', { messages: [{ role: 'system', content: 'Be terse.' }] });
add('effort-low', { messages: [user('Why is the sky blue?')], reasoning_effort: 'low' });
add('effort-medium', { messages: [user('Why is the sky blue?')], reasoning_effort: 'medium' });
add('effort-high', { messages: [{ role: 'system', content: 'Think hard.' }, user('Prove that sqrt(2) is irrational.')],
                     reasoning_effort: 'high' });
add('effort-null', { messages: [user('Default effort.')], reasoning_effort: null });
add('identity', { messages: [user('Who are you?')], model_identity: 'You are Getty, a batch assistant.' });
add('identity-empty', { messages: [user('Who are you?')], model_identity: '' });
add('identity-multiline-high', { messages: [{ role: 'developer', content: 'Be formal.' }, user('Hello')],
                                 model_identity: 'You are a model.\nYou answer briefly.', reasoning_effort: 'high' });

// ---- turns, contents
add('multi-turn', { messages: [user('Name a prime.'), asst('7'), user('Another one?')] });
add('multi-turn-thinking-dropped', {
  messages: [user('2+3?'), asst('5', { thinking: 'Simple addition.' }), user('And 4+4?')] });
add('reasoning-content-alias', {
  messages: [user('Capital of Japan?'), asst('Tokyo.', { reasoning_content: 'Easy.' }), user('Of Peru?')] });
add('reasoning-alias', {
  messages: [user('Hi'), asst('Hello!', { reasoning: 'Greet.' }), user('Bye')] });
add('long-code', {
  messages: [{ role: 'system', content: 'You write Python.' }, user('Write a function that adds two numbers.'),
             asst('```python\ndef add(a, b):\n    return a + b\n```'), user('Now make it take a list.'),
             asst('```python\ndef add_all(xs):\n    return sum(xs)\n```\nThis uses `sum`.'),
             user('Add type hints and a docstring, please. Also handle an empty list.')] });
add('unicode', {
  messages: [{ role: 'system', content: 'Réponds en français — s’il te plaît.' },
             user('東京の天気は？ 🌧️☔ Привет! مرحبا שלום 👩‍👩‍👧‍👦 e\u0301 \u200b'), asst('雨です。 ☔'),
             user('Ça va? ǅ ß ﬁ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢')] });
add('empty-user', { messages: [user('')] });
add('empty-assistant', { messages: [user('Say nothing.'), asst(''), user('Thanks')] });
add('whitespace', { messages: [user('  leading and trailing  \n\n\ttabs\t\n'), asst('\n'), user(' ')] });
add('newlines-crlf', { messages: [user('line1\r\nline2\r\n\r\nline3'), asst('ok\r\n'), user('\n\n\n')] });
add('text-parts', {
  messages: [{ role: 'system', content: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'brief.' }] },
             user([{ type: 'text', text: 'What is ' }, { type: 'text', text: 'love?' }])] });
add('assistant-null-content-then-final', {
  messages: [user('Go'), asst('Done.', { tool_calls: null }), user('Again')] });
add('numbers-and-punctuation', { messages: [user('3.14159 2,718 1e10 -42 (a+b)^2 == a^2+2ab+b^2 !@#$%^&*()')] });
add('json-in-content', { messages: [user('{"a": [1, 2, {"b": null}], "c": "d"}'), asst('{"ok": true}'), user('[]')] });

// ---- tools: rendering of the namespace
add('tools-no-instructions', { messages: [user('Weather in Paris?')], tools: [weather] });
add('instructions-no-tools', { messages: [{ role: 'developer', content: 'Only answer about weather.' }, user('Hi')] });
add('tools-and-instructions', {
  messages: [{ role: 'system', content: 'Use tools when useful.' }, user('Weather in Oslo?')], tools: [weather, search] });
add('tool-no-parameters', { messages: [user('What time is it?')], tools: [noParams] });
add('tool-empty-parameters', {
  messages: [user('x')],
  tools: [{ type: 'function', function: { name: 'a', description: 'A.', parameters: {} } },
          { type: 'function', function: { name: 'b', description: '', parameters: { type: 'object', properties: {} } } },
          { type: 'function', function: { name: 'c', description: 'C.', parameters: null } }] });
add('tool-choice-none', { messages: [user('Weather in Paris?')], tools: [weather], tool_choice: 'none' });
add('tool-choice-auto', { messages: [user('Weather in Paris?')], tools: [weather], tool_choice: 'auto' });
add('tools-empty-array', { messages: [{ role: 'system', content: 'S' }, user('U')], tools: [] });
add('tools-effort-identity', { messages: [user('Search for "harmony".')], tools: [search], reasoning_effort: 'low',
                               model_identity: 'You are a search bot.' });
add('nested-types', {
  messages: [user('Book it.')],
  tools: [{
    type: 'function',
    function: {
      name: 'book_trip', description: 'Book a trip — flights and hotels. ✈️',
      parameters: {
        type: 'object',
        properties: {
          travellers: { type: 'array', description: 'Who travels',
                        items: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } },
                                 required: ['name'] } },
          legs: { type: 'array', items: { type: 'object', properties: {
            from: { type: 'string' }, to: { type: 'string' }, date: { type: 'string' },
            class: { type: 'string', enum: ['economy', 'business'] } } } },
          seats: { type: 'array', items: { type: 'integer' }, nullable: true },
          prices: { type: 'array', items: { type: 'number' } },
          flags: { type: 'array', items: { type: 'boolean' } },
          matrix: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
          anything: { type: 'array' },
          empty_items: { type: 'array', items: {} },
          untyped_items: { type: 'array', items: { description: 'no type' } },
          note: { type: 'string', nullable: true, default: null },
          mode: { type: ['string', 'null'] },
          single: { type: ['integer'] },
          listy: { type: ['array'], items: { type: ['integer'] } },
          pair: { type: 'array', items: { type: ['object', 'object'] } },
          choice: { oneOf: [{ type: 'string', description: 'a name' }, { type: 'integer', default: 3 }],
                    description: 'Name or number', default: 'auto' },
          objs: { oneOf: [{ type: 'object' }, { type: 'object', properties: { x: { type: 'number' } } }] },
          meta: { type: 'object' },
          opts: { type: 'object', properties: { deep: { type: 'object', properties: {
            deeper: { type: 'string', enum: ['x', 'y'] } }, required: ['deeper'] } } },
          unknown: { description: 'no type at all' },
          weird: { type: 'null' },
          count: { type: 'integer', default: 0 },
          ratio: { type: 'number', default: 0.5 },
          big: { type: 'number', default: 1e21 },
          tiny: { type: 'number', default: 1e-7 },
          list_default: { type: 'array', items: { type: 'string' }, default: ['a', 'b'] },
          obj_default: { type: 'object', default: { k: 'v', n: [1, 2.5] } },
          level: { type: 'string', enum: ['low', 'high'], default: 'low', description: 'Level' },
          num_enum: { type: 'string', enum: [1, 2.5, true, null, 'x'] },
          enum_list_default: { type: 'string', enum: ['a'], default: ['a', 1, null, [2], { z: 1 }] },
          enum_obj_default: { type: 'string', enum: ['a'], default: { z: 1 } },
          enum_bool_default: { type: 'string', enum: ['a'], default: true },
          enum_num_default: { type: 'string', enum: ['a'], default: 2.25 },
          oneof_num_default: { oneOf: [{ type: 'integer' }], default: 7 },
        },
        required: ['travellers', 'legs', 'choice'],
      },
    },
  }] });
add('long-inner-type-any', {
  messages: [user('x')],
  tools: [{ type: 'function', function: { name: 'long_items', description: 'Items with many fields.',
    parameters: { type: 'object', properties: {
      rows: { type: 'array', items: { type: 'object', properties: {
        identifier: { type: 'string' }, description: { type: 'string' }, quantity: { type: 'integer' } } } },
      short: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } },
      unicode_rows: { type: 'array', items: { type: 'object', properties: {
        'ключ': { type: 'string' }, '名前': { type: 'string' }, 'emoji😀': { type: 'boolean' } } } } } } } }] });
add('integer-like-keys', {
  messages: [user('x')],
  tools: [{ type: 'function', function: { name: 'keys_order', description: 'Key order.',
    parameters: { type: 'object', properties: {
      b: { type: 'string' }, '10': { type: 'integer' }, '2': { type: 'integer' }, a: { type: 'string' },
      '01': { type: 'string' }, '-1': { type: 'string' } }, required: ['2', 'a'] } } }] });
add('required-missing-and-unicode-descriptions', {
  messages: [user('x')],
  tools: [{ type: 'function', function: { name: 'translate', description: 'Übersetze Text — 翻訳',
    parameters: { type: 'object', properties: {
      text: { type: 'string', description: 'Der Text\nmit zwei Zeilen' },
      target: { type: 'string', description: 'Zielsprache', enum: ['de', 'ja', 'fr'] } } } } }] });
add('many-tools', { messages: [user('Do everything.')], tools: [weather, search, noParams,
  { type: 'function', function: { name: 'send-email.v2', description: 'Send an email.', parameters: {
    type: 'object', properties: { to: { type: 'array', items: { type: 'string' } }, body: { type: 'string' } },
    required: ['to', 'body'] } } }] });

// ---- tool calls and results
const paris = { role: 'assistant', content: null, tool_calls: [call('get_weather', '{"location": "Paris, France"}')] };
add('call-then-result', {
  messages: [user('Weather in Paris?'), paris, tool('{"temperature": 21, "sky": "clear"}')], tools: [weather] });
add('call-result-final', {
  messages: [user('Weather in Paris?'), { ...paris, thinking: 'Need the weather tool.' },
             tool('{"temperature": 21}'), asst('It is 21 °C and clear.'), user('And tomorrow?')], tools: [weather] });
add('call-with-thinking-kept', {
  messages: [user('Weather in Paris?'), { ...paris, thinking: 'I should call get_weather.' }, tool('21C')],
  tools: [weather] });
add('call-with-content-as-analysis', {
  messages: [user('Weather in Paris?'), { ...paris, content: 'Calling the tool.' }, tool('sunny')], tools: [weather] });
add('call-args-object', {
  messages: [user('Search'), asst(null, { tool_calls: [call('search_docs', {
    query: 'harmony "format"', filters: { tags: ['a', 'b'], limits: { max: 3 } }, top_k: 10, exact: true })] }),
             tool('[]')], tools: [search] });
add('call-args-numbers', {
  messages: [user('n'), asst(null, { tool_calls: [call('f',
    '{"a": 1.0, "b": 0.1, "c": 1e21, "d": 1e-7, "e": -0.0, "f": 123456789012345678, "g": 2.5e-3, "h": 1E5, "i": -12}')] }),
             tool('ok')] });
add('call-args-strings', {
  messages: [user('s'), asst(null, { tool_calls: [call('f',
    '{"q": "quote \\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f ctl \\u0001 del \\u007f", ' +
    '"u": "é 東京 😀 \\u00e9 \\ud83d\\ude00 \\u2028", "empty": "", "nested": {"10": 1, "2": 2, "b": [], "a": {}}}')] }),
             tool('done')] });
add('call-args-compact-json', {
  messages: [user('c'), asst(null, { tool_calls: [call('f', '{"x":1,"y":[true,false,null],"z":{"w":"v"}}')] }),
             tool('r')] });
add('call-args-missing', {
  messages: [user('c'), { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'get_time' } }] },
             tool('12:00')], tools: [noParams] });
add('call-args-empty-object', {
  messages: [user('time'), asst(null, { tool_calls: [call('get_time', '{}')] }), tool('12:00'), asst('Noon.')],
  tools: [noParams] });
add('call-flat-form', {
  messages: [user('t'), { role: 'assistant', tool_calls: [{ name: 'get_time', arguments: { tz: 'UTC' } }] },
             tool('now')], tools: [noParams] });
add('call-content-type', {
  messages: [user('t'), asst(null, { tool_calls: [call('run', '"print(1)"', { content_type: 'code' })] }),
             tool('1')] });
add('two-calls-first-rendered', {
  messages: [user('Weather in Paris and Oslo?'), asst(null, { tool_calls: [
    call('get_weather', '{"location": "Paris"}'), call('get_weather', '{"location": "Oslo"}')] }),
             tool('Paris: 20'), tool('Oslo: 5')], tools: [weather] });
add('result-object', {
  messages: [user('w'), paris, tool({ temperature: 21, unit: 'C', '1': 'one', list: [1, 'two'] })], tools: [weather] });
add('result-special-chars', {
  messages: [user('w'), paris, tool('line1\nline2\t"quoted" \\ back ✓ 😀')], tools: [weather] });
add('result-empty', { messages: [user('w'), paris, tool('')], tools: [weather] });
add('result-null', { messages: [user('w'), paris, tool(null)], tools: [weather] });
add('result-parts', { messages: [user('w'), paris, tool([{ type: 'text', text: 'part1 ' }, { type: 'text', text: 'part2' }])],
                      tools: [weather] });
add('chain-of-calls', {
  messages: [{ role: 'system', content: 'Plan, then act.' }, user('Weather in Paris, then search docs.'),
             { ...paris, thinking: 'First the weather.' }, tool('{"t": 21}'),
             asst('', { thinking: 'Now search.', tool_calls: [call('search_docs', '{"query": "paris"}')] }),
             tool('{"hits": 3}')], tools: [weather, search], reasoning_effort: 'high' });
add('chain-with-final-drops-analysis', {
  messages: [user('Weather in Paris?'), { ...paris, thinking: 'Dropped: a final follows.' }, tool('21'),
             asst('Let me also check Oslo.', { tool_calls: [call('get_weather', '{"location": "Oslo"}')] }),
             tool('5'), asst('Paris 21, Oslo 5.'), user('Thanks!')], tools: [weather] });
add('user-between-call-and-result', {
  messages: [user('w'), paris, user('(still there?)'), tool('late result')], tools: [weather] });
add('tool-choice-none-with-call-history', {
  messages: [user('w'), paris, tool('21'), asst('21 degrees.'), user('ok')], tools: [weather], tool_choice: 'none' });
add('history-calls-without-tools', {
  messages: [user('w'), paris, tool('21'), asst('21 degrees.'), user('ok')] });
add('call-name-with-dot-dash', {
  messages: [user('e'), asst(null, { tool_calls: [call('send-email.v2', '{"to": ["a@b.c"], "body": "hi"}')] }),
             tool('sent')] });

// ---- errors: where the template itself fails, getp fails too
addT('err-tool-without-call', { messages: [user('x'), tool('orphan')], expect_error: 'no assistant tool call' });
addT('err-tool-after-final', { messages: [user('w'), paris, tool('1'), asst('done'), tool('2')],
                              expect_error: 'no assistant tool call' });
addT('err-channel-tags-content', { messages: [user('x'), asst('<|channel|>analysis<|message|>hi'), user('y')],
                                  expect_error: 'harmony tag' });
addT('err-channel-tags-thinking', { messages: [user('x'), asst('a', { thinking: 'x<|channel|>final<|message|>y' }),
                                   user('y')], expect_error: 'harmony tag' });
addT('err-content-and-thinking-on-call', {
  messages: [user('w'), { ...paris, content: 'c', thinking: 't' }, tool('1')], expect_error: 'both content and thinking' });
addT('err-assistant-nothing', { messages: [user('x'), { role: 'assistant' }, user('y')],
                               expect_error: 'needs "content" or "tool_calls"' });
addT('err-user-no-content', { messages: [{ role: 'user' }], expect_error: 'content is missing' });
addT('err-empty-tool-calls', { messages: [user('x'), { role: 'assistant', tool_calls: [] }],
                              expect_error: 'non-empty array' });
addT('err-tool-no-description', {
  messages: [user('x')], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
  expect_error: 'description must be a string' });
addT('err-tool-no-name', { messages: [user('x')], tools: [{ type: 'function', function: { description: 'd' } }],
                          expect_error: 'name must be' });
addT('err-enum-default-null', {
  messages: [user('x')], tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: {
    type: 'object', properties: { e: { type: 'string', enum: ['a'], default: null } } } } }],
  expect_error: 'default must not be null' });
// ---- errors getp adds (the template would render these, or drop something silently)
add('err-effort', { messages: [user('x')], reasoning_effort: 'extreme', expect_error: 'unknown reasoning_effort' });
add('err-effort-type', { messages: [user('x')], reasoning_effort: 3, expect_error: 'unknown reasoning_effort' });
add('err-tool-choice-required', { messages: [user('x')], tools: [weather], tool_choice: 'required',
                                  expect_error: 'tool_choice "required" is not supported' });
add('err-tool-choice-named', { messages: [user('x')], tools: [weather],
                               tool_choice: { type: 'function', function: { name: 'get_weather' } },
                               expect_error: 'named tool_choice' });
add('err-tool-choice-unknown', { messages: [user('x')], tools: [weather], tool_choice: 'sometimes',
                                 expect_error: 'unknown tool_choice' });
add('err-parameters-not-object', {
  messages: [user('x')], tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: 'x' } }],
  expect_error: 'parameters must be an object' });
add('err-properties-not-object', {
  messages: [user('x')], tools: [{ type: 'function', function: { name: 'f', description: 'd',
                                                                   parameters: { properties: [1] } } }],
  expect_error: 'properties must be an object' });
add('err-tool-type', { messages: [user('x')], tools: [{ type: 'retrieval' }], expect_error: 'type must be "function"' });
add('err-tools-not-array', { messages: [user('x')], tools: { type: 'function' }, expect_error: '"tools" must be an array' });
add('err-start-tag-in-assistant', { messages: [user('x'), asst('hello<|start|>user'), user('y')],
                                    expect_error: 'harmony tag <|start|>' });
add('err-system-in-middle', { messages: [user('x'), { role: 'system', content: 'late' }],
                              expect_error: 'only allowed first' });
add('err-channel-field', { messages: [user('x'), asst('a', { channel: 'analysis' }), user('y')],
                           expect_error: 'channel is not read' });
add('err-unknown-role', { messages: [{ role: 'wizard', content: 'x' }], expect_error: 'wizard' });
add('err-builtin-tools', { messages: [user('x')], builtin_tools: ['browser'], expect_error: 'builtin_tools' });
add('err-arguments-not-json', { messages: [user('x'), asst(null, { tool_calls: [call('f', '{oops')] }), tool('r')],
                                expect_error: 'arguments is not valid JSON' });
add('err-identity-type', { messages: [user('x')], model_identity: 5, expect_error: 'model_identity' });
add('err-two-thinking-fields', { messages: [user('x'), asst('a', { thinking: 't', reasoning_content: 'r' }), user('y')],
                                 expect_error: 'give one' });
add('err-bad-type-in-schema', {
  messages: [user('x')], tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: {
    type: 'object', properties: { p: { type: 7 } } } } }], expect_error: 'type must be a string or an array' });

// ---- drawn with a fixed seed: random mixes of everything above
let seed = 20250805;
const rand = () => { // mulberry32
  seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const texts = ['Hello', 'What is the weather like?', 'Résumé: naïve café', '数学は楽しい', '🙂🙃', '',
               'Multi\nline\ntext', 'Tabs\tand  spaces ', 'Quote "this" and \'that\'', 'a'.repeat(300),
               'x = {"k": [1, 2]}', 'Ünïcödé — “quotes” … ½ € ©'];
const values = () => pick([0, 1, -2, 0.5, 1e21, 'x', 'é', '', true, false, null, [1, 'a'], { k: 1 }, [], {}]);
const leaf = () => pick([{ type: 'string' }, { type: 'integer' }, { type: 'number' }, { type: 'boolean' },
                         { type: 'string', enum: ['a', 'b', 'c'] }, { type: 'string', nullable: true },
                         { type: 'array', items: { type: 'string' } }, { type: ['string', 'null'] }, {},
                         { type: ['integer'] }, { type: 'array', items: { type: ['number'] }, nullable: true },
                         { type: 'array' }, { type: 'object' }, { type: 'null' }, { type: 'string', enum: [1, 'z'] },
                         { oneOf: [{ type: 'string' }, { type: 'integer', description: 'n', default: 2 }] },
                         { oneOf: [{ type: 'object' }, { type: 'object' }] }, { type: ['object', 'object'] }]);
const schema = (depth) => {
  const props = {};
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const name = pick(['id', 'name', 'value', 'items', 'opts', 'q', 'n', 'deep', 'x_y', 'zeta', 'ключ', '', '7']) + i;
    let s = depth > 0 && rand() < 0.3 ? schema(depth - 1)
      : depth > 0 && rand() < 0.2 ? { type: 'array', items: schema(depth - 1) } : leaf();
    if (rand() < 0.4) s = { ...s, description: pick(texts.filter((t) => t)) };
    if (rand() < 0.2 && s.type === 'integer') s = { ...s, default: Math.floor(rand() * 100) };
    if (rand() < 0.1 && s.type === 'number') s = { ...s, default: Math.round(rand() * 1000) / 100 };
    if (rand() < 0.1 && s.enum) s = { ...s, default: 'b' };
    if (rand() < 0.1 && !s.enum) s = { ...s, default: values() };
    props[name] = s;
  }
  const required = Object.keys(props).filter(() => rand() < 0.5);
  return { type: 'object', properties: props, ...(required.length ? { required } : {}) };
};
const randomTool = (k) => ({ type: 'function', function: {
  name: `tool_${k}`, description: pick(texts.filter((t) => t)).slice(0, 60),
  ...(rand() < 0.85 ? { parameters: schema(2) } : {}) } });
for (let c = 0; c < 30; c++) {
  const req = { messages: [] };
  const tools = rand() < 0.6 ? Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => randomTool(k)) : null;
  if (tools) req.tools = tools;
  if (rand() < 0.5) req.messages.push({ role: pick(['system', 'developer']), content: pick(texts) });
  const turns = 1 + Math.floor(rand() * 4);
  for (let t = 0; t < turns; t++) {
    req.messages.push(user(pick(texts)));
    if (t === turns - 1 && rand() < 0.5) break; // end on the user's turn
    if (tools && rand() < 0.5) {
      const tl = pick(tools).function;
      const extra = rand() < 0.5 ? { thinking: pick(texts) } : {};
      req.messages.push(asst(null, { tool_calls: [call(tl.name, JSON.stringify({ arg: pick(texts), n: t }))],
                                     ...extra }));
      req.messages.push(tool(rand() < 0.5 ? pick(texts) : JSON.stringify({ result: pick(texts) })));
      if (rand() < 0.5) req.messages.push(asst(pick(texts), rand() < 0.5 ? { thinking: pick(texts) } : {}));
    } else {
      req.messages.push(asst(pick(texts), rand() < 0.5 ? { thinking: pick(texts) } : {}));
    }
  }
  if (rand() < 0.5) req.reasoning_effort = pick(['low', 'medium', 'high']);
  if (rand() < 0.2) req.model_identity = pick(texts);
  if (tools && rand() < 0.15) req.tool_choice = pick(['none', 'auto']);
  add(`random-${c}`, req);
}

for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
