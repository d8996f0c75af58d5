/**
 * Model-level benches on the wasm backend (issue 19): the products a GPT-2-small forward runs,
 * and the whole forward, each with tfjs-wasm's matMul kernels, with our GEMM (registerFastMatMul)
 * and with numpy on the same arrays, in one run. Weights are random at real size, generated here
 * from the seed and handed to numpy as raw float32 files in a temporary folder (never committed).
 *
 * Timing: one warm-up, then `repeats` timed calls; median wall ms and the process's CPU ms
 * (all threads: our workers, OpenBLAS's) so a reader can tell cores used from load.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fastMatMulRegistration, registerFastMatMul, type GemmEngine } from '@swapformer/kernels';
import { buildGpt, normalizeModelConfig, type GptModelConfig } from '@swapformer/models';
import type { OperatorRegistry } from '@swapformer/registry';
import type { OrtModule } from '../peers/onnxruntimePeer';
import type { PythonPeerProcess } from '../peers/pythonPeer';
import { median } from '../stats';
import { maxRelativeDifference } from './logitsAgreement';
import { MODEL_PEER_PYTHON } from './modelPeerPython';
import { gpt2OnnxModel, readWeights } from './onnxTransformerGraphs';
import { OrtGpt2, ortSession } from './ortModelPeer';
import type { ForwardRow, GemmRow, ModelContender, ModelTiming } from './modelBenchTypes';

export interface ModelBenchOptions {
  /** Our GEMM (one engine for the whole bench: each engine starts its own worker threads). */
  readonly engine: GemmEngine;
  readonly repeats: number;
  readonly seed: number;
  /** Tokens of the GPT-2 forward. */
  readonly tokens: number;
  /** numpy's process, or null where python3/numpy is missing. */
  readonly python: PythonPeerProcess | null;
  /** onnxruntime-node, or null where it does not load. */
  readonly ort: OrtModule | null;
  /** Threads of onnxruntime's intra-op pool (as our GEMM's and OpenBLAS's). */
  readonly threads: number;
  readonly progress?: (line: string) => void;
}

/** Runs `f` once to warm up, then `repeats` times; median wall and CPU ms. */
export async function time(f: () => void | Promise<void | { ms: number; cpuMs: number }>, repeats: number): Promise<ModelTiming> {
  await f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const reported = await f();
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    wall.push(reported ? reported.ms : ms);
    cpu.push(reported ? reported.cpuMs : (used.user + used.system) / 1000);
  }
  return { ms: median(wall), cpuMs: median(cpu), runs: repeats };
}

/** Runs `f` with tfjs-wasm's products, then with ours, restoring whatever was registered before. */
async function bothMatMuls<T>(engine: GemmEngine, f: (contender: 'tfjs' | 'swapformer') => Promise<T>): Promise<Record<'tfjs' | 'swapformer', T>> {
  const before = fastMatMulRegistration();
  before?.undo();
  try {
    const tfjs = await f('tfjs');
    const undo = registerFastMatMul({ engine });
    try {
      return { tfjs, swapformer: await f('swapformer') };
    } finally {
      undo();
    }
  } finally {
    if (before) registerFastMatMul({ engine: before.engine });
  }
}

/** Runs `f` with our GEMM registered (only), restoring whatever was registered before. */
export async function withOurGemm<T>(engine: GemmEngine, f: () => Promise<T>): Promise<T> {
  const before = fastMatMulRegistration();
  before?.undo();
  const undo = registerFastMatMul({ engine });
  try {
    return await f();
  } finally {
    undo();
    if (before) registerFastMatMul({ engine: before.engine });
  }
}

export function seededUniform(length: number, seed: number): Float32Array {
  // a small LCG: the bench needs reproducible data, not good randomness
  const out = new Float32Array(length);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Token ids in [0, vocabSize) from `seededUniform`: the same ids for every contender of a bench. */
export function seededIds(length: number, seed: number, vocabSize: number): Int32Array {
  return Int32Array.from(seededUniform(length, seed), (u) => Math.floor(((u + 1) / 2) * vocabSize) % vocabSize);
}

export function writeF32(file: string, data: Float32Array): void {
  fs.writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** The products of a GPT-2-small forward over 1,024 tokens (and a square reference), A row-major, B stored as given. */
export const GEMM_SHAPES = [
  { name: 'square', a: [1024, 1024], b: [1024, 1024], transposeB: false },
  { name: 'attention in-projection (c_attn)', a: [1024, 768], b: [768, 2304], transposeB: false },
  { name: 'MLP up (c_fc)', a: [1024, 768], b: [768, 3072], transposeB: false },
  { name: 'MLP down (c_proj)', a: [1024, 3072], b: [3072, 768], transposeB: false },
  { name: 'attention scores, 12 heads', a: [12, 1024, 64], b: [12, 1024, 64], transposeB: true },
  { name: 'LM head (tied wte, transposed)', a: [1024, 768], b: [50257, 768], transposeB: true },
] as const;

export async function benchGemms(options: ModelBenchOptions, dir: string): Promise<GemmRow[]> {
  const rows: GemmRow[] = [];
  for (const [i, s] of GEMM_SHAPES.entries()) {
    options.progress?.(`gemm ${s.name}`);
    const aData = seededUniform(s.a.reduce((p, d) => p * d, 1), options.seed + 2 * i);
    const bData = seededUniform(s.b.reduce((p, d) => p * d, 1), options.seed + 2 * i + 1);
    const a = tf.tensor(aData, [...s.a]);
    const b = tf.tensor(bData, [...s.b]);
    const m = s.a[s.a.length - 2], k = s.a[s.a.length - 1];
    const n = s.transposeB ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
    const batch = s.a.length === 3 ? s.a[0] : 1;
    // the wasm backend's kernels run synchronously, so the product is done when matMul returns
    const product = () => tf.dispose(tf.matMul(a, b, false, s.transposeB));
    const ours = await bothMatMuls(options.engine, async () => time(product, options.repeats));
    const timings: Partial<Record<ModelContender, ModelTiming>> = { ...ours };
    if (options.python) {
      writeF32(path.join(dir, 'a.f32'), aData);
      writeF32(path.join(dir, 'b.f32'), bData);
      const loaded = await options.python.request({ op: 'gemm_load', dir, aShape: s.a, bShape: s.b, transposeB: s.transposeB });
      if (!loaded.error) timings.numpy = await time(async () => pythonTiming(await options.python!.request({ op: 'gemm_run' })), options.repeats);
    }
    tf.dispose([a, b]);
    rows.push({ name: s.name, shape: `[${s.a.join(', ')}] × [${s.b.join(', ')}]${s.transposeB ? 'ᵀ' : ''}`, flops: 2 * batch * m * n * k, timings });
  }
  return rows;
}

export function pythonTiming(reply: Record<string, unknown>): { ms: number; cpuMs: number } {
  if (reply.error) throw new Error(`numpy peer: ${String(reply.error)}`);
  return { ms: Number(reply.ms), cpuMs: Number(reply.cpuMs) };
}

/** GPT-2 small (124 M) at real size with random weights from the seed. */
export function gpt2SmallConfig(seed: number): GptModelConfig {
  return normalizeModelConfig({ model: 'gpt', vocabSize: 50257, nPositions: 1024, hiddenSize: 768, numLayers: 12, numHeads: 12, seed }) as GptModelConfig;
}

export async function benchGptForward(options: ModelBenchOptions, registry: OperatorRegistry, dir: string): Promise<ForwardRow> {
  options.progress?.('GPT-2 small: building random weights');
  const config = gpt2SmallConfig(options.seed);
  const model = buildGpt(config, { name: 'exact' }, registry);
  const n = options.tokens;
  const idsData = seededIds(n, options.seed + 99, config.vocabSize);
  const ids = tf.tensor2d(idsData, [1, n], 'int32');
  try {
    const parameters = model.parameters();
    const lastLogits: Partial<Record<ModelContender, Float32Array>> = {};
    const forward = (contender: ModelContender) => () => {
      const logits = model.forward(ids);
      if (!lastLogits[contender]) lastLogits[contender] = tf.tidy(() => tf.slice(logits, [0, n - 1, 0], [1, 1, config.vocabSize]).dataSync() as Float32Array);
      logits.dispose();
    };
    options.progress?.('GPT-2 small: forward with tfjs-wasm and with our matMul');
    const ours = await bothMatMuls(options.engine, async (c) => time(forward(c), options.repeats));
    const timings: Partial<Record<ModelContender, ModelTiming>> = { ...ours };
    if (options.python) {
      options.progress?.('GPT-2 small: numpy on the same weights');
      const manifest = parameters.map((p, i) => {
        writeF32(path.join(dir, `${i}.f32`), p.variable.dataSync() as Float32Array);
        return { name: p.name, shape: p.variable.shape };
      });
      const loaded = await options.python.request({ op: 'gpt2_load', dir, manifest, layers: config.numLayers, heads: config.numHeads, eps: config.layerNormEps });
      for (let i = 0; i < manifest.length; i++) fs.rmSync(path.join(dir, `${i}.f32`), { force: true });
      if (loaded.error) throw new Error(`numpy peer: ${String(loaded.error)}`);
      const file = path.join(dir, 'logits.f32');
      timings.numpy = await time(async () => pythonTiming(await options.python!.request({ op: 'gpt2_run', ids: Array.from(idsData), path: file })), options.repeats);
      const bytes = fs.readFileSync(file);
      lastLogits.numpy = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    if (options.ort) {
      options.progress?.('GPT-2 small: onnxruntime-node on the same weights');
      const peer = new OrtGpt2(options.ort, await ortSession(options.ort, gpt2OnnxModel(config, readWeights(parameters)), options.threads), config);
      const tokens = Array.from(idsData);
      timings.onnxruntime = await time(async () => {
        lastLogits.onnxruntime = await peer.forward(tokens);
      }, options.repeats);
      await peer.release();
    }
    return { name: 'GPT-2 small (124 M), forward', tokens: n, batch: 1, parameters: parameters.reduce((s, p) => s + p.variable.size, 0), timings, agreement: agreement(lastLogits) };
  } finally {
    ids.dispose();
    model.dispose();
  }
}

/** Each contender's logits against the reference's (numpy's by default) (max |Δ| over numpy's largest |logit|): the same-weights check. */
export function agreement(logits: Partial<Record<ModelContender, Float32Array>>, reference: ModelContender = 'numpy'): Partial<Record<ModelContender, number>> {
  const ref = logits[reference];
  if (!ref) return {};
  const out: Partial<Record<ModelContender, number>> = {};
  for (const c of Object.keys(logits) as ModelContender[]) if (c !== reference) out[c] = maxRelativeDifference(logits[c]!, ref);
  return out;
}

/** Starts numpy's side in the shared Python peer process. */
export async function defineModelPeer(proc: PythonPeerProcess): Promise<Record<string, unknown>> {
  const defined = await proc.request({ op: 'define', code: MODEL_PEER_PYTHON });
  if (defined.error) throw new Error(`numpy peer: ${String(defined.error)}`);
  return proc.request({ op: 'info' });
}

/** A scratch folder for the arrays handed to numpy. */
export function modelBenchScratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-model-bench-'));
}
