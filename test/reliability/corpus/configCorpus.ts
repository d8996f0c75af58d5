/**
 * Malformed configs, generated: syntax, root types, unknown kinds and keys, missing fields,
 * wrong types, names that try to be paths/URLs/modules, sizes out of range, values JSON cannot
 * hold, deep and wide nesting, bad backends. Operator options come from optionCorpus.ts.
 */
import { caseCollector, type MalformedCase } from './MalformedCase';

const sel = { name: 'exact' };
const json = (value: unknown) => ({ form: 'json', value }) as const;
const text = (t: string | Uint8Array) => ({ form: 'text', text: t }) as const;
const value = (v: unknown) => ({ form: 'value', value: v }) as const;
const invalid = (...includes: string[]) => ({ kind: 'invalid-config', includes }) as const;
const perLayer = (overrides: unknown[], extra: object = {}) => ({ attention: { default: sel, overrides, ...extra } });

function syntax(): MalformedCase[] {
  const c = caseCollector('config-syntax');
  const notJson = invalid('is not valid JSON');
  c.add('empty file', text(''), invalid('the file is empty'));
  c.add('only whitespace', text('  \n\t\n'), invalid('the file is empty'));
  for (const [title, t] of [
    ['lone brace', '{'],
    ['truncated after key', '{"attention": '],
    ['missing closing brace', '{"attention": {"name": "exact"}'],
    ['trailing comma', '{"attention": {"name": "exact",}}'],
    ['single quotes', "{'attention': {'name': 'exact'}}"],
    ['unquoted key', '{attention: {"name": "exact"}}'],
    ['line comment', '// config\n{"attention": {"name": "exact"}}'],
    ['block comment', '{"attention": /* op */ {"name": "exact"}}'],
    ['trailing text', '{"attention": {"name": "exact"}} trailing'],
    ['two documents', '{"attention": {"name": "exact"}}{"attention": {"name": "exact"}}'],
    ['NaN literal', '{"attention": {"name": "exact", "options": {"queryBlock": NaN}}}'],
    ['Infinity literal', '{"attention": {"name": "exact", "options": {"queryBlock": Infinity}}}'],
    ['-Infinity literal', '{"attention": {"name": "exact", "options": {"chunkThreshold": -Infinity}}}'],
    ['undefined literal', '{"attention": {"name": undefined}}'],
    ['raw newline in string', '{"attention": {"name": "exa\nct"}}'],
    ['bad escape', '{"attention": {"name": "\\x41"}}'],
    ['hex number', '{"attention": {"default": {"name": "exact"}, "overrides": [{"layers": 0x10, "name": "exact"}]}}'],
    ['leading zero', '{"attention": {"default": {"name": "exact"}, "overrides": [{"layers": 01, "name": "exact"}]}}'],
    ['leading dot', '{"attention": {"name": "exact", "options": {"queryBlock": .5}}}'],
    ['plus sign', '{"attention": {"name": "exact", "options": {"queryBlock": +1}}}'],
    ['unterminated 200k-deep array', '['.repeat(200_000)],
    ['unterminated string', '{"attention": {"name": "exact'],
    ['javascript, not JSON', 'module.exports = { attention: { name: "exact" } }'],
    ['YAML, not JSON', 'attention:\n  name: exact\n'],
  ] as const) {
    c.add(title, text(t), notJson);
  }
  const notUtf8 = invalid('is not UTF-8 text');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"attention": {"name": "exact"}}', 'utf16le')]);
  c.add('UTF-16LE with BOM', text(new Uint8Array(utf16)), notUtf8);
  c.add('Latin-1 byte in a string', text(new Uint8Array([...Buffer.from('{"attention": {"name": "'), 0xe9, ...Buffer.from('"}}')])), notUtf8);
  c.add('overlong UTF-8 encoding', text(new Uint8Array([...Buffer.from('{"a": "'), 0xc0, 0xaf, ...Buffer.from('"}')])), notUtf8);
  let state = 12345;
  const garbage = new Uint8Array(4096).map(() => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24));
  c.add('4 KiB of random bytes', text(garbage), notUtf8);
  c.add('NUL bytes inside the JSON', text('{"attention":\u0000{"name": "exact"}}'), notJson);
  return c.cases;
}

function structure(): MalformedCase[] {
  const root = caseCollector('config-root-type');
  for (const v of [[], [{ attention: sel }], 'exact', 42, 0, -1, true, false, null]) root.add(`root ${JSON.stringify(v)}`, json(v), invalid('a config must be a JSON object'));

  const kind = caseCollector('config-unknown-kind');
  for (const v of [{}, { attentions: sel }, { Attention: sel }, { operator: 'exact' }, { name: 'exact' }, { backend: 'wasm', extra: 1 }, { $schema: 'x' }]) {
    kind.add(`keys ${Object.keys(v).join(',') || 'none'}`, json(v), invalid('cannot tell what kind of config'));
  }

  const keys = caseCollector('config-unknown-keys');
  const unknown = (title: string, config: unknown, at: string) => keys.add(title, json(config), invalid(`at ${at}: unknown key`));
  unknown('extra top-level key', { attention: sel, extra: 1 }, '/extra');
  unknown('options at top level', { attention: sel, options: {} }, '/options');
  unknown('"option" typo', { attention: { name: 'exact', option: {} } }, '/attention/option');
  unknown('"Options" capitalised', { attention: { name: 'exact', Options: {} } }, '/attention/Options');
  unknown('"constructor" key', { attention: { name: 'exact', constructor: 1 } }, '/attention/constructor');
  unknown('fallback extra key', { attention: { name: 'exact', fallback: { policy: 'warn', order: ['exact'], extra: 1 } } }, '/attention/fallback/extra');
  unknown('per-layer extra key', perLayer([], { extra: 1 }), '/attention/extra');
  unknown('override extra key', perLayer([{ layers: 0, name: 'exact', extra: 1 }]), '/attention/overrides/0/extra');
  unknown('layer range "step"', perLayer([{ layers: { from: 0, to: 1, step: 2 }, name: 'exact' }]), '/attention/overrides/0/layers/step');
  unknown('layer "first" extra key', perLayer([{ layers: { first: 2, extra: 1 }, name: 'exact' }]), '/attention/overrides/0/layers/extra');
  keys.add('"__proto__" key (own property from JSON.parse)', text('{"attention": {"name": "exact", "__proto__": {"polluted": true}}}'), invalid('at /attention/__proto__: unknown key'));
  keys.add('"__proto__" inside options', text('{"attention": {"name": "exact", "options": {"__proto__": {"queryBlock": 1}}}}'), invalid('/attention/options/__proto__'));

  const missing = caseCollector('config-missing-fields');
  const need = (title: string, config: unknown, at: string) => missing.add(title, json(config), invalid(`at ${at}: missing required key`));
  need('empty selection', { attention: {} }, '/attention/name');
  need('options without name', { attention: { options: {} } }, '/attention/name');
  need('empty default', { attention: { default: {} } }, '/attention/default/name');
  need('override without layers', perLayer([{ name: 'exact' }]), '/attention/overrides/0/layers');
  need('override without name', perLayer([{ layers: 0 }]), '/attention/overrides/0/name');
  need('fallback without order', { attention: { name: 'exact', fallback: { policy: 'warn' } } }, '/attention/fallback/order');
  need('fallback without policy', { attention: { name: 'exact', fallback: { order: ['exact'] } } }, '/attention/fallback/policy');
  need('range without "to"', perLayer([{ layers: { from: 0 }, name: 'exact' }]), '/attention/overrides/0/layers/to');
  need('range without "from"', perLayer([{ layers: { to: 3 }, name: 'exact' }]), '/attention/overrides/0/layers/from');
  need('overrides without default', { attention: { overrides: [{ layers: 0, name: 'exact' }] } }, '/attention/name');
  return [...root.cases, ...kind.cases, ...keys.cases, ...missing.cases];
}

function wrongTypes(): MalformedCase[] {
  const c = caseCollector('config-wrong-types');
  const at = (title: string, config: unknown, path: string) => c.add(title, json(config), invalid(`at ${path}: must`));
  for (const v of [null, 1, 'exact', true]) at(`attention ${JSON.stringify(v)}`, { attention: v }, '/attention');
  for (const v of [1, true, null, [], {}, ['exact'], 1.5]) at(`name ${JSON.stringify(v)}`, { attention: { name: v } }, '/attention/name');
  for (const v of ['fast', 1, [], null, true, ['path']]) at(`options ${JSON.stringify(v)}`, { attention: { name: 'exact', options: v } }, '/attention/options');
  for (const v of ['warn', true, [], null]) at(`fallback ${JSON.stringify(v)}`, { attention: { name: 'exact', fallback: v } }, '/attention/fallback');
  for (const v of [1, null, 'WARN', 'error']) at(`fallback policy ${JSON.stringify(v)}`, { attention: { name: 'exact', fallback: { policy: v, order: ['exact'] } } }, '/attention/fallback/policy');
  for (const v of ['exact', {}, [1], [null], []]) {
    const path = Array.isArray(v) && v.length > 0 ? '/attention/fallback/order/0' : '/attention/fallback/order';
    at(`fallback order ${JSON.stringify(v)}`, { attention: { name: 'exact', fallback: { policy: 'warn', order: v } } }, path);
  }
  for (const v of [{}, 'x', 1, null]) at(`overrides ${JSON.stringify(v)}`, { attention: { default: sel, overrides: v } }, '/attention/overrides');
  for (const v of [1, 'exact']) at(`override ${JSON.stringify(v)}`, perLayer([v]), '/attention/overrides/0');
  for (const v of ['0', true, null, 1.5, [1.5], ['0'], []]) {
    const path = Array.isArray(v) && v.length > 0 ? '/attention/overrides/0/layers/0' : '/attention/overrides/0/layers';
    at(`layers ${JSON.stringify(v)}`, perLayer([{ layers: v, name: 'exact' }]), path);
  }
  for (const v of [null, 'exact', 1, []]) at(`default ${JSON.stringify(v)}`, { attention: { default: v } }, '/attention/default');
  at('$schema not a string', { $schema: 1, attention: sel }, '/$schema');
  return c.cases;
}

/** Names that try to be something other than a registry name: paths, URLs, modules, odd characters. */
export const HOSTILE_NAMES: readonly string[] = [
  '../exact', './exact', '/usr/lib/node_modules/exact', 'exact/../../etc/passwd', '..', '.', 'C:\\plugins\\exact', '\\\\server\\share\\p',
  'http://evil.example/plugin.js', 'https://evil.example/p', 'file:///etc/passwd', 'data:text/javascript,process.exit(1)', 'javascript:alert(1)',
  'node:child_process', 'child_process', '@scope/plugin', '@swapformer/plugin-exact', 'exact.js', 'exact;rm -rf /', '$(touch pwned)', '`id`',
  '%2e%2e%2fexact', 'Exact', 'EXACT', 'ex act', 'exact\n', '', '-exact', 'exact-', 'exa--ct', '1exact', 'éxact', 'exact\u0000', 'x'.repeat(41), '__proto__',
];

function names(): MalformedCase[] {
  const c = caseCollector('config-name-rules');
  for (const n of HOSTILE_NAMES) c.add(`name ${JSON.stringify(n).slice(0, 40)}`, json({ attention: { name: n } }), invalid('at /attention/name: must'));
  c.add('path in default', json({ attention: { default: { name: '../x' } } }), invalid('at /attention/default/name: must'));
  c.add('URL in override', json(perLayer([{ layers: 0, name: 'https://evil.example/p' }])), invalid('at /attention/overrides/0/name: must'));
  c.add('module in fallback order', json({ attention: { name: 'exact', fallback: { policy: 'warn', order: ['node:fs'] } } }), invalid('at /attention/fallback/order/0: must'));
  for (const n of ['constructor', 'prototype', 'eval', 'evil', 'child-process', 'fs', 'node']) {
    c.add(`unknown name "${n}"`, json({ attention: { name: n } }), invalid(`unknown attention operator "${n}"`, 'Installed operators:'));
  }
  c.add('typo gets a suggestion', json({ attention: { name: 'exakt' } }), invalid('unknown attention operator "exakt"', 'Did you mean "exact"?'));
  c.add('unknown name in an override', json(perLayer([{ layers: 1, name: 'nope' }])), invalid('at /attention/overrides/0: unknown attention operator "nope"'));
  return c.cases;
}

function sizes(): MalformedCase[] {
  const c = caseCollector('config-sizes');
  const layers = (v: unknown) => json(perLayer([{ layers: v, name: 'exact' }]));
  for (const v of [-1, -1e9, 4097, 1e9, 2 ** 53, 1e308, -0.5]) c.add(`layer index ${v}`, layers(v), invalid('at /attention/overrides/0/layers: must'));
  for (const v of [0, -1, 4097]) c.add(`first ${v}`, layers({ first: v }), invalid('at /attention/overrides/0/layers/first: must'));
  c.add('from -1', layers({ from: -1, to: 2 }), invalid('at /attention/overrides/0/layers/from: must'));
  c.add('to 5000', layers({ from: 0, to: 5000 }), invalid('at /attention/overrides/0/layers/to: must'));
  c.add('from after to', layers({ from: 5, to: 2 }), invalid('/attention/overrides/0/layers: "from" (5) is after "to" (2)'));
  c.add('layer list with -1', layers([0, -1]), invalid('at /attention/overrides/0/layers/1: must'));
  c.add('layer list with 5000', layers([0, 5000]), invalid('at /attention/overrides/0/layers/1: must'));
  c.add('layer list of 4097 entries', layers(Array.from({ length: 4097 }, (_, i) => i % 4096)), invalid('at /attention/overrides/0/layers: must NOT have more than 4096 items'));
  c.add('257 overrides', json(perLayer(Array.from({ length: 257 }, () => ({ layers: 0, name: 'exact' })))), invalid('at /attention/overrides: must NOT have more than 256 items'));
  c.add('17 fallbacks', json({ attention: { name: 'exact', fallback: { policy: 'warn', order: Array(17).fill('exact') } } }), invalid('at /attention/fallback/order: must NOT have more than 16 items'));
  c.add('config file of 9 MB', text(`{"attention": {"name": "exact"}, "pad": "${'x'.repeat(9 * 1024 * 1024)}"}`), invalid('config files are limited to 8388608 bytes'));
  return c.cases;
}

function nonJson(): MalformedCase[] {
  const c = caseCollector('config-non-json-values');
  const opts = (v: unknown) => value({ attention: { name: 'exact', options: { queryBlock: v } } });
  for (const v of [NaN, Infinity, -Infinity]) c.add(`${v} option`, opts(v), invalid('at /attention/options/queryBlock:', 'is not a JSON number'));
  c.add('NaN layer', value(perLayer([{ layers: NaN, name: 'exact' }])), invalid('at /attention/overrides/0/layers:', 'is not a JSON number'));
  c.add('Infinity in a range', value(perLayer([{ layers: { from: 0, to: Infinity }, name: 'exact' }])), invalid('at /attention/overrides/0/layers/to:', 'is not a JSON number'));
  c.add('NaN name', value({ attention: { name: NaN } }), invalid('at /attention/name:', 'is not a JSON number'));
  c.add('function option', opts(() => 1), invalid('at /attention/options/queryBlock: a function is not a JSON value'));
  c.add('symbol option', opts(Symbol('x')), invalid('a symbol is not a JSON value'));
  c.add('bigint option', opts(BigInt(64)), invalid('a bigint (64) is not a JSON number'));
  for (const [title, v] of [['Date', new Date(0)], ['Map', new Map()], ['Set', new Set()], ['Uint8Array', new Uint8Array(4)], ['RegExp', /x/], ['class instance', new (class Options {})()]] as const) {
    c.add(`${title} as options`, value({ attention: { name: 'exact', options: v } }), invalid('at /attention/options: a', 'is not a plain JSON object'));
  }
  const cyclic: Record<string, unknown> = { name: 'exact' };
  cyclic.options = { self: cyclic };
  c.add('cycle through options', value({ attention: cyclic }), invalid('at /attention/options/self: refers back to /attention'));
  const top: Record<string, unknown> = {};
  top.attention = top;
  c.add('config containing itself', value(top), invalid('at /attention: refers back to /'));
  return c.cases;
}

function nesting(): MalformedCase[] {
  const c = caseCollector('config-deep-nesting');
  const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  for (const depth of [70, 1000, 100_000]) {
    c.add(`options nested ${depth} deep`, text(`{"attention": {"name": "exact", "options": ${nested(depth)}}}`), invalid('nests deeper than 64 levels'));
  }
  c.add('attention as a 100k-deep array', text(`{"attention": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`), invalid('nests deeper than 64 levels'));
  c.add('name as a 100k-deep object', text(`{"attention": {"name": ${nested(100_000)}}}`), invalid('nests deeper than 64 levels'));
  c.add('extra key nested 10k deep', text(`{"attention": {"name": "exact"}, "x": ${nested(10_000)}}`), invalid('nests deeper than 64 levels'));
  c.add('root as a 100k-deep array', text(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), invalid('a config must be a JSON object'));
  const wide = (n: number) => `{"attention": {"name": "exact", "options": {${Array.from({ length: n }, (_, i) => `"k${i}": ${i}`).join(', ')}}}}`;
  c.add('5,000 unknown option keys (message stays short)', text(wide(5000)), invalid('/attention/options/k0', 'more lines'));
  c.add('200,000 unknown option keys', text(wide(200_000)), invalid('holds more than 100000 values'));
  c.add('a 200,000-character key', text(`{"attention": {"name": "exact", "${'k'.repeat(200_000)}": 1}}`), invalid('a key of 200000 characters'));
  c.add('a 1 MB string value', text(`{"attention": {"name": "exact", "options": {"path": "${'p'.repeat(1 << 20)}"}}}`), invalid('a string of 1048576 characters'));
  c.add('150,000-entry layer list', text(`{"attention": {"default": {"name": "exact"}, "overrides": [{"layers": [${Array(150_000).fill(0).join(',')}], "name": "exact"}]}}`), invalid('holds more than 100000 values'));
  return c.cases;
}

function backend(): MalformedCase[] {
  const c = caseCollector('config-backend');
  for (const v of ['gpu', 'WASM', 'tpu', '', 1, null, true, ['wasm'], { name: 'wasm' }]) c.add(`backend ${JSON.stringify(v)}`, json({ backend: v }), invalid('at /backend: must'));
  c.add('bad backend next to attention', json({ attention: sel, backend: 'cuda' }), invalid('at /backend: must'));
  return c.cases;
}

/** Every structural config case (operator options are generated per plugin in optionCorpus.ts). */
export function configCorpus(): MalformedCase[] {
  return [...syntax(), ...structure(), ...wrongTypes(), ...names(), ...sizes(), ...nonJson(), ...nesting(), ...backend()];
}
