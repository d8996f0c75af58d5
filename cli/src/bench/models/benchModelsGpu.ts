/**
 * The model benches on tfjs-webgpu next to PyTorch fp32 on the same GPU (issue 19, for the H100
 * run): GPT-2 small forward, ViT-base 224 at batch 8, and the Llama-shaped crossover, with
 * PyTorch eager (explicit softmax attention) and SDPA running the same weights
 * (modelPeerTorch.ts). Swapformer's results are read back with `await data()`, which waits
 * for the queued GPU work; PyTorch synchronizes CUDA around its timed call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { buildGpt, buildLlama, buildVit, type ModelParameter } from '@swapformer/models';
import type { OperatorRegistry } from '@swapformer/registry';
import type { PythonPeerProcess } from '../peers/pythonPeer';
import { vitBaseConfig, vitBasePixels } from './benchOrtModels';
import { crossoverLlamaConfig, type CrossoverRow } from './llamaCrossover';
import type { ForwardRow, ModelContender, ModelTiming } from './modelBenchTypes';
import { MODEL_PEER_TORCH } from './modelPeerTorch';
import { agreement, gpt2SmallConfig, seededIds, time, writeF32 } from './runModelBench';

export const TORCH_VARIANTS = ['torch-eager', 'torch-sdpa'] as const;

export interface GpuBenchOptions {
  readonly repeats: number;
  readonly seed: number;
  readonly python: PythonPeerProcess | null;
  readonly dir: string;
  readonly progress?: (line: string) => void;
}

/** Defines PyTorch's side (after numpy's, whose weight loader it reuses). */
export async function defineTorchPeer(proc: PythonPeerProcess): Promise<void> {
  const defined = await proc.request({ op: 'define', code: MODEL_PEER_TORCH });
  if (defined.error) throw new Error(`PyTorch peer: ${String(defined.error)}`);
}

/** Hands the weights to PyTorch through raw float32 files (read back from the GPU with data()). */
export async function loadTorch(options: GpuBenchOptions, parameters: readonly ModelParameter[], fields: Record<string, unknown>): Promise<void> {
  const manifest = [];
  for (const [i, p] of parameters.entries()) {
    writeF32(path.join(options.dir, `${i}.f32`), (await p.variable.data()) as Float32Array);
    manifest.push({ name: p.name, shape: p.variable.shape });
  }
  const loaded = await options.python!.request({ op: 'torch_load', dir: options.dir, manifest, ...fields });
  for (let i = 0; i < manifest.length; i++) fs.rmSync(path.join(options.dir, `${i}.f32`), { force: true });
  if (loaded.error) throw new Error(`PyTorch peer: ${String(loaded.error)}`);
}

/** One PyTorch variant: its median time and its output (the row the bench compares). */
export async function torchRun(options: GpuBenchOptions, variant: string, input: Record<string, unknown>): Promise<{ timing: ModelTiming; output: Float32Array }> {
  const file = path.join(options.dir, 'torch-out.f32');
  const timing = await time(async () => {
    const reply = await options.python!.request({ op: 'torch_run', variant, path: file, ...input });
    if (reply.error) throw new Error(`PyTorch peer (${variant}): ${String(reply.error)}`);
    return { ms: Number(reply.ms), cpuMs: NaN };
  }, options.repeats);
  const bytes = fs.readFileSync(file);
  return { timing: { ...timing, cpuMs: null }, output: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
}

async function gpuForwardRow(
  options: GpuBenchOptions,
  name: string,
  tokens: number,
  batch: number,
  parameters: readonly ModelParameter[],
  forward: () => tf.Tensor,
  torchLoad: Record<string, unknown>,
  torchInput: Record<string, unknown>,
): Promise<ForwardRow> {
  const logits: Partial<Record<ModelContender, Float32Array>> = {};
  const timings: Partial<Record<ModelContender, ModelTiming>> = {};
  timings.swapformer = await time(async () => {
    const out = forward();
    const data = (await out.data()) as Float32Array;
    out.dispose();
    logits.swapformer ??= data;
  }, options.repeats);
  timings.swapformer = { ...timings.swapformer, cpuMs: null };
  if (options.python) {
    await loadTorch(options, parameters, torchLoad);
    for (const v of TORCH_VARIANTS) {
      const r = await torchRun(options, v, torchInput);
      timings[v] = r.timing;
      logits[v] = r.output;
    }
  }
  return { name, tokens, batch, parameters: parameters.reduce((s, p) => s + p.variable.size, 0), timings, agreement: agreement(logits, 'torch-eager'), reference: 'torch-eager' };
}

export async function benchGptForwardGpu(options: GpuBenchOptions, registry: OperatorRegistry, n: number): Promise<ForwardRow> {
  options.progress?.('GPT-2 small on webgpu and PyTorch');
  const config = gpt2SmallConfig(options.seed);
  const model = buildGpt(config, { name: 'exact' }, registry);
  const idsData = Array.from(seededIds(n, options.seed + 99, config.vocabSize));
  const ids = tf.tensor2d([idsData], [1, n], 'int32');
  try {
    const forward = () => tf.tidy(() => tf.slice(model.forward(ids), [0, n - 1, 0], [1, 1, config.vocabSize]));
    const load = { family: 'gpt2', layers: config.numLayers, heads: config.numHeads, eps: config.layerNormEps };
    return await gpuForwardRow(options, 'GPT-2 small (124 M), forward', n, 1, model.parameters(), forward, load, { ids: idsData });
  } finally {
    ids.dispose();
    model.dispose();
  }
}

export async function benchVitForwardGpu(options: GpuBenchOptions, registry: OperatorRegistry, batch: number): Promise<ForwardRow> {
  options.progress?.(`ViT-base 224, batch ${batch}, on webgpu and PyTorch`);
  const config = vitBaseConfig(options.seed);
  const model = buildVit(config, { name: 'exact' }, registry);
  const { shape, data: pixelData, tensor: pixels } = vitBasePixels(options.seed, batch);
  try {
    writeF32(path.join(options.dir, 'pixels.f32'), pixelData);
    const load = { family: 'vit', layers: config.numLayers, heads: config.numHeads, eps: config.layerNormEps, patch: config.patchSize, pixels: shape };
    return await gpuForwardRow(options, 'ViT-base/16 (86 M), forward', 197, batch, model.parameters(), () => model.forward(pixels), load, {});
  } finally {
    pixels.dispose();
    model.dispose();
  }
}

/** PyTorch's rows of the crossover: the same Llama-shaped weights (built here with exact) and the same ids per n. */
export async function torchCrossoverRows(options: GpuBenchOptions, registry: OperatorRegistry, ns: readonly number[]): Promise<CrossoverRow[]> {
  if (!options.python) return [];
  const config = crossoverLlamaConfig(options.seed);
  const model = buildLlama(config, { name: 'exact' }, registry);
  try {
    await loadTorch(options, model.parameters(), {
      family: 'llama',
      layers: config.numLayers,
      heads: config.numHeads,
      kvHeads: config.numKeyValueHeads ?? config.numHeads,
      eps: config.rmsNormEps,
      theta: config.rope.theta,
    });
  } finally {
    model.dispose();
  }
  const rows: CrossoverRow[] = [];
  for (const v of TORCH_VARIANTS) {
    const cells = [];
    for (const n of ns) {
      options.progress?.(`Llama-shaped decoder, PyTorch ${v}, n = ${n}`);
      const ids = Array.from(seededIds(n, options.seed + n, config.vocabSize));
      try {
        cells.push({ n, timing: (await torchRun(options, v, { ids })).timing });
      } catch (error) {
        cells.push({ n, skipped: `failed: ${(error as Error).message.split('\n')[0]}` });
      }
    }
    rows.push({ operator: v, cells });
  }
  return rows;
}
