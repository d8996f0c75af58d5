/**
 * The model benches with an onnxruntime-node peer (issue 19): ViT-base 224 at batch 8 (Swapformer
 * with our GEMM, onnxruntime, numpy) and GPT-2-small greedy generation (Swapformer's kv-cache vs
 * onnxruntime's past key/values graph). Same random weights everywhere; logits compared.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { buildGpt, buildVit, generate, normalizeModelConfig, type VitModelConfig } from '@swapformer/models';
import type { OperatorRegistry } from '@swapformer/registry';
import { maxRelativeDifference } from './logitsAgreement';
import type { ForwardRow, GenerationRow, ModelContender, ModelTiming } from './modelBenchTypes';
import { gpt2OnnxModel, readWeights, vitOnnxModel } from './onnxTransformerGraphs';
import { OrtGpt2, ortSession } from './ortModelPeer';
import { agreement, gpt2SmallConfig, pythonTiming, seededIds, seededUniform, time, withOurGemm, writeF32, type ModelBenchOptions } from './runModelBench';

/** ViT-base/16 at 224 px with ImageNet's 1,000 labels, random weights from the seed. */
export function vitBaseConfig(seed: number): VitModelConfig {
  return normalizeModelConfig({ model: 'vit', imageSize: 224, patchSize: 16, numChannels: 3, hiddenSize: 768, numLayers: 12, numHeads: 12, numLabels: 1000, seed }) as VitModelConfig;
}

/** The ViT-base benches' seeded pixels `[batch, 3, 224, 224]`: the raw data (for the peers) and the tensor. */
export function vitBasePixels(seed: number, batch: number): { readonly shape: [number, number, number, number]; readonly data: Float32Array; readonly tensor: tf.Tensor4D } {
  const shape: [number, number, number, number] = [batch, 3, 224, 224];
  const data = seededUniform(
    shape.reduce((a, b) => a * b, 1),
    seed + 7,
  );
  return { shape, data, tensor: tf.tensor4d(data, shape) };
}

export async function benchVitForward(options: ModelBenchOptions, registry: OperatorRegistry, dir: string, batch: number): Promise<ForwardRow> {
  options.progress?.(`ViT-base 224, batch ${batch}: building random weights`);
  const config = vitBaseConfig(options.seed);
  const model = buildVit(config, { name: 'exact' }, registry);
  const { shape, data: pixelData, tensor: pixels } = vitBasePixels(options.seed, batch);
  const logits: Partial<Record<ModelContender, Float32Array>> = {};
  const timings: Partial<Record<ModelContender, ModelTiming>> = {};
  try {
    const parameters = model.parameters();
    options.progress?.('ViT-base: forward with our GEMM');
    timings.swapformer = await withOurGemm(options.engine, () =>
      time(() => {
        const out = model.forward(pixels);
        logits.swapformer ??= out.dataSync() as Float32Array;
        out.dispose();
      }, options.repeats),
    );
    if (options.ort) {
      options.progress?.('ViT-base: onnxruntime-node on the same weights');
      const session = await ortSession(options.ort, vitOnnxModel(config, readWeights(parameters), batch), options.threads);
      const feeds = { pixel_values: new options.ort.Tensor('float32', pixelData, shape) };
      timings.onnxruntime = await time(async () => {
        logits.onnxruntime = (await session.run(feeds)).logits.data as Float32Array;
      }, options.repeats);
      await session.release?.();
    }
    if (options.python) {
      options.progress?.('ViT-base: numpy on the same weights');
      const manifest = parameters.map((p, i) => {
        writeF32(path.join(dir, `${i}.f32`), p.variable.dataSync() as Float32Array);
        return { name: p.name, shape: p.variable.shape };
      });
      writeF32(path.join(dir, 'pixels.f32'), pixelData);
      const loaded = await options.python.request({
        op: 'vit_load',
        dir,
        manifest,
        layers: config.numLayers,
        heads: config.numHeads,
        eps: config.layerNormEps,
        patch: config.patchSize,
        pixels: shape,
      });
      for (let i = 0; i < manifest.length; i++) fs.rmSync(path.join(dir, `${i}.f32`), { force: true });
      if (loaded.error) throw new Error(`numpy peer: ${String(loaded.error)}`);
      const file = path.join(dir, 'vit-logits.f32');
      timings.numpy = await time(async () => pythonTiming(await options.python!.request({ op: 'vit_run', path: file })), options.repeats);
      const bytes = fs.readFileSync(file);
      logits.numpy = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    return { name: 'ViT-base/16 (86 M), forward', tokens: 197, batch, parameters: parameters.reduce((s, p) => s + p.variable.size, 0), timings, agreement: agreement(logits) };
  } finally {
    pixels.dispose();
    model.dispose();
  }
}

/** Greedy generation of `newTokens` after a `promptLength`-token prompt, both peers decoding through their caches. */
export async function benchGptGeneration(options: ModelBenchOptions, registry: OperatorRegistry, promptLength: number, newTokens: number): Promise<GenerationRow> {
  options.progress?.(`GPT-2 small: generation, ${newTokens} tokens after ${promptLength}`);
  const config = gpt2SmallConfig(options.seed);
  const model = buildGpt(config, { name: 'exact' }, registry);
  const prompt = Array.from(seededIds(promptLength, options.seed + 5, config.vocabSize));
  try {
    let ours: { tokens: number[]; first: Float32Array } | null = null;
    const swapformer = await withOurGemm(options.engine, () =>
      time(() => {
        let first: Float32Array | null = null;
        const result = generate(model, [prompt], { maxNewTokens: newTokens, temperature: 0, onStep: (_, logits) => (first ??= logits.slice()) });
        ours ??= { tokens: result.tokens[0], first: first! };
      }, options.repeats),
    );
    const row: GenerationRow = { name: 'GPT-2 small (124 M), greedy generation, kv-cache', promptTokens: promptLength, newTokens, timings: { swapformer } };
    if (!options.ort) return row;
    options.progress?.('GPT-2 small: generation with onnxruntime-node (past key/values graph)');
    const peer = new OrtGpt2(options.ort, await ortSession(options.ort, gpt2OnnxModel(config, readWeights(model.parameters())), options.threads), config);
    let theirs: { tokens: number[]; firstLogits: Float32Array } | null = null;
    const onnxruntime = await time(async () => {
      const result = await peer.generate(prompt, newTokens);
      theirs ??= result;
    }, options.repeats);
    await peer.release();
    const mine = ours as unknown as { tokens: number[]; first: Float32Array };
    const peerResult = theirs as unknown as { tokens: number[]; firstLogits: Float32Array };
    const sameTokens = mine.tokens.findIndex((t, i) => t !== peerResult.tokens[i]);
    return { ...row, timings: { swapformer, onnxruntime }, firstLogitsDifference: maxRelativeDifference(mine.first, peerResult.firstLogits), tokensAgree: sameTokens === -1 ? newTokens : sameTokens };
  } finally {
    model.dispose();
  }
}
