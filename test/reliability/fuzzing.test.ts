/**
 * Property-based fuzzing of every parser that reads user files: whatever the bytes, each reader
 * returns or throws a SwapformerError — never another error, a crash, a hang, unbounded memory
 * or a file written. Inputs are mutations of valid files (bit flips, truncations, header lengths
 * and offsets at the edges) and generated JSON (huge and negative numbers, deep nesting, unicode).
 *
 * SWAPFORMER_FUZZ_RUNS=<total> runs more (nightly); SWAPFORMER_FUZZ_SEED=<n> another sequence.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile, validateConfig } from '@swapformer/registry';
import { encodeSafetensors, fromHfConfig, openCheckpointTensors, openSafetensors, tokenizerFor } from '@swapformer/models';
import { encodeIdx, parseIdx } from '../../cli/src/data/readIdx';
import { CONFIG_KINDS } from '../../cli/src/config/configKinds';
import { fuzzRuns, type FuzzTarget } from './corpus/fuzzPlan';
import { awkwardJson, mutatedBytes, mutatedJson, mutatedJsonText } from './support/fuzzInputs';
import { openAndReadAll } from './support/binaryReaders';
import { workspaceTempDir, REPO_ROOT } from './support/processes';
import { installedRegistry } from './support/registries';

// read once, here: the library itself never reads the environment
const RUNS = fuzzRuns(process.env.SWAPFORMER_FUZZ_RUNS ? Number(process.env.SWAPFORMER_FUZZ_RUNS) : undefined);
const SEED = process.env.SWAPFORMER_FUZZ_SEED ? Number(process.env.SWAPFORMER_FUZZ_SEED) : 23;
/** One input taking longer than this counts as a hang. */
const SLOW_MS = 5000;
/** Resident memory may grow by at most this much over a whole target. */
const MAX_RSS_GROWTH = 512 * 1024 * 1024;

/** Runs `fn`; anything thrown must be a SwapformerError, and it must finish in time. */
function swapformerOrNothing(fn: () => unknown): void {
  const started = performance.now();
  try {
    fn();
  } catch (error) {
    if (!SwapformerError.is(error)) throw new Error(`non-Swapformer error: ${(error as Error)?.constructor?.name}: ${(error as Error)?.message ?? String(error)}`.slice(0, 600));
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) throw new Error(`one input took ${ms.toFixed(0)} ms`);
}

/** Checks `property` over `target`'s runs, with resident memory bounded and nothing written into `dir`. */
function fuzz<T>(target: FuzzTarget, dir: string, input: fc.Arbitrary<T>, check: (value: T) => void): void {
  const before = fs.readdirSync(dir).sort();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  fc.assert(
    fc.property(input, (value) => {
      check(value);
      peak = Math.max(peak, process.memoryUsage.rss());
    }),
    { numRuns: RUNS[target], seed: SEED, endOnFailure: true },
  );
  expect(peak - baseline, `${target}: resident memory grew by ${((peak - baseline) / 2 ** 20).toFixed(0)} MiB`).to.be.below(MAX_RSS_GROWTH);
  expect(fs.readdirSync(dir).sort(), `${target}: the readers wrote files`).to.deep.equal(before);
}

function safetensorsFixture(): Uint8Array {
  const tensors = new Map([
    ['a.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['b.bias', { shape: [3], data: Float32Array.from([0.5, -1, 2]) }],
    ['scalar', { shape: [], data: Float32Array.from([7]) }],
  ]);
  return new Uint8Array(encodeSafetensors(tensors));
}

/** A safetensors file with `header` (any JSON) in place of its own, and the original data section. */
function withHeader(original: Uint8Array, header: unknown): Uint8Array {
  const n = Number(new DataView(original.buffer, original.byteOffset).getBigUint64(0, true));
  const text = Buffer.from(JSON.stringify(header) ?? 'null', 'utf8');
  const out = Buffer.alloc(8 + text.length + original.length - 8 - n);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  text.copy(out, 8);
  Buffer.from(original.subarray(8 + n)).copy(out, 8 + text.length);
  return out;
}

describe('fuzzing the parsers (fast-check)', function () {
  this.timeout(300000);
  let dir = '';
  before(() => {
    dir = workspaceTempDir('fuzz');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`should read any safetensors bytes or refuse them with a SwapformerError (${RUNS['safetensors bytes']} inputs)`, () => {
    const base = safetensorsFixture();
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, base);
    fuzz('safetensors bytes', dir, mutatedBytes(base, { u64At: [0] }), (bytes) => {
      fs.writeFileSync(file, bytes);
      swapformerOrNothing(() => {
        const error = openAndReadAll(openSafetensors, file);
        if (error) throw error;
      });
    });
  });

  it(`should check every field of a safetensors header (${RUNS['safetensors header JSON']} inputs)`, () => {
    const base = safetensorsFixture();
    const n = Number(new DataView(base.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(base.subarray(8, 8 + n)).toString('utf8')) as unknown;
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, base);
    fuzz('safetensors header JSON', dir, fc.oneof(mutatedJson(header), awkwardJson()), (h) => {
      fs.writeFileSync(file, withHeader(base, h));
      swapformerOrNothing(() => {
        const error = openAndReadAll(openSafetensors, file);
        if (error) throw error;
      });
    });
  });

  it(`should check a sharded checkpoint's index (${RUNS['sharded index']} inputs)`, () => {
    const folder = path.join(dir, 'sharded');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'one.safetensors'), encodeSafetensors(new Map([['a', { shape: [2], data: Float32Array.from([1, 2]) }]])));
    fs.writeFileSync(path.join(folder, 'two.safetensors'), encodeSafetensors(new Map([['b', { shape: [1], data: Float32Array.from([3]) }]])));
    const index = { metadata: { total_size: 12 }, weight_map: { a: 'one.safetensors', b: 'two.safetensors' } };
    const indexFile = path.join(folder, 'model.safetensors.index.json');
    fs.writeFileSync(indexFile, JSON.stringify(index));
    const text = JSON.stringify(index);
    fuzz('sharded index', dir, fc.oneof(mutatedJson(index).map((v) => JSON.stringify(v) ?? 'null'), mutatedJsonText(text)), (content) => {
      fs.writeFileSync(indexFile, content);
      swapformerOrNothing(() => {
        const error = openAndReadAll(openCheckpointTensors, folder);
        if (error) throw error;
      });
    });
  });

  it(`should validate any config value with one invalid-config error (${RUNS['config validation']} inputs)`, () => {
    const registry = installedRegistry();
    const examples = ['dropin.json', 'train-vit-exact.json', 'train-gpt-exact.json'].map((f) => readJsonFile(path.join(REPO_ROOT, 'examples', f)));
    const bases: unknown[] = [
      ...examples,
      { attention: { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'thinformer', options: { g: 2 } }, { layers: [3, 5], name: 'performer' }] } },
      { model: 'gpt', vocabSize: 23, nPositions: 16, hiddenSize: 16, numLayers: 2, numHeads: 2, attention: { name: 'exact' } },
      { model: 'vit', imageSize: 28, numChannels: 1, numLabels: 10, hiddenSize: 64, numLayers: 2, numHeads: 4, pixelStage: { layers: 1, hiddenSize: 32, heads: 1, patchMerge: 4 } },
      { backend: 'wasm' },
    ];
    fuzz('config validation', dir, fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...bases).chain((b) => mutatedJson(b)) }, { weight: 1, arbitrary: awkwardJson() }), (config) => {
      swapformerOrNothing(() => validateConfig(config, registry, CONFIG_KINDS));
    });
  });

  it(`should parse any IDX bytes or refuse them with a SwapformerError (${RUNS['IDX bytes']} inputs)`, () => {
    const base = encodeIdx([3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => i));
    fuzz('IDX bytes', dir, mutatedBytes(base, { u32BeAt: [0, 4, 8, 12] }), (bytes) => {
      swapformerOrNothing(() => parseIdx(bytes, 'fuzz.idx', { maxBytes: 1 << 20 }));
    });
  });

  it(`should read any JSON file text or refuse it with line and column (${RUNS['JSON file text']} inputs)`, () => {
    const file = path.join(dir, 'config.json');
    const base = fs.readFileSync(path.join(REPO_ROOT, 'examples/dropin.json'), 'utf8');
    fs.writeFileSync(file, base);
    fuzz('JSON file text', dir, mutatedJsonText(base), (text) => {
      fs.writeFileSync(file, text);
      swapformerOrNothing(() => {
        try {
          readJsonFile(file);
        } catch (error) {
          if (SwapformerError.is(error) && /is not valid JSON/.test(error.message) && !/the file is empty/.test(error.message)) expect(error.message).to.match(/line \d+, column \d+/);
          throw error;
        }
      });
    });
  });

  it(`should read any HF config.json value and its tokenizer, or refuse it (${RUNS['HF config and tokenizer']} inputs)`, () => {
    const gpt = readJsonFile(path.join(REPO_ROOT, 'models/test/fixtures/hf/gpt2-tied/config.json'));
    const charGpt = { ...(gpt as object), vocab_size: 5, swapformer: { tokenizer: { type: 'char', vocab: 'abcde' } } };
    const vit = readJsonFile(path.join(REPO_ROOT, 'models/test/fixtures/hf/vit-rgb/config.json'));
    const input = fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(gpt, charGpt, vit).chain((b) => mutatedJson(b)) }, { weight: 1, arbitrary: awkwardJson() }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.array(fc.integer({ min: -5, max: 60000 }), { maxLength: 8 }));
    fuzz('HF config and tokenizer', dir, input, ([config, text, ids]) => {
      swapformerOrNothing(() => {
        const { config: model } = fromHfConfig(config as Record<string, unknown>);
        if (model.model !== 'gpt') return;
        const tokenizer = tokenizerFor(model);
        tokenizer.decode(ids.filter((id) => id >= 0 && id < tokenizer.vocabSize));
        tokenizer.encode(text);
      });
    });
  });
});
