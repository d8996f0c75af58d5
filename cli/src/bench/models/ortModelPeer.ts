/**
 * onnxruntime-node running whole models built by onnxTransformerGraphs.ts: a ViT forward, and
 * GPT-2 forward and greedy generation through the graph's own past key/values (each step feeds
 * one token and the previous step's `present_*` tensors, as transformers.js does).
 */
import type { GptModelConfig } from '@swapformer/models';
import type { OrtModule, OrtSession, OrtTensor } from '../peers/onnxruntimePeer';

/** A CPU session with explicit threads and no spinning (as the attention peer: the next contender keeps its cores). */
export function ortSession(ort: OrtModule, model: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}

/** Index of the largest value of `row` (greedy decoding, as sampleToken at temperature 0). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export class OrtGpt2 {
  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    private readonly config: GptModelConfig,
  ) {}

  /** Runs `ids` (batch 1) after a cache of `past` positions; logits of the last token and the new cache. */
  private async run(ids: readonly number[], past: number, cache: readonly OrtTensor[] | null): Promise<{ last: Float32Array; cache: OrtTensor[] }> {
    const { ort, config } = this;
    const t = ids.length;
    const hd = config.hiddenSize / config.numHeads;
    const bias = new Float32Array(t * (past + t));
    for (let i = 0; i < t; i++) for (let j = past + i + 1; j < past + t; j++) bias[i * (past + t) + j] = -Infinity;
    const feeds: Record<string, OrtTensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, t]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: t }, (_, i) => BigInt(past + i)),
        [1, t],
      ),
      attention_bias: new ort.Tensor('float32', bias, [t, past + t]),
    };
    for (let l = 0; l < config.numLayers; l++) {
      feeds[`past_key_${l}`] = cache?.[2 * l] ?? new ort.Tensor('float32', new Float32Array(0), [1, config.numHeads, 0, hd]);
      feeds[`past_value_${l}`] = cache?.[2 * l + 1] ?? new ort.Tensor('float32', new Float32Array(0), [1, config.numHeads, 0, hd]);
    }
    const out = await this.session.run(feeds);
    const logits = out.logits.data as Float32Array;
    const next = Array.from({ length: config.numLayers }, (_, l) => [out[`present_key_${l}`], out[`present_value_${l}`]]).flat();
    return { last: logits.slice((t - 1) * config.vocabSize, t * config.vocabSize), cache: next };
  }

  async release(): Promise<void> {
    await this.session.release?.();
  }

  /** Last position's logits of a full forward over `ids`. */
  async forward(ids: readonly number[]): Promise<Float32Array> {
    return (await this.run(ids, 0, null)).last;
  }

  /** Greedy generation of `count` tokens after `prompt`; the logits that picked the first one. */
  async generate(prompt: readonly number[], count: number): Promise<{ tokens: number[]; firstLogits: Float32Array }> {
    let step = await this.run(prompt, 0, null);
    const firstLogits = step.last;
    const tokens: number[] = [];
    let length = prompt.length;
    for (;;) {
      tokens.push(argmax(step.last));
      if (tokens.length === count) return { tokens, firstLogits };
      step = await this.run([tokens[tokens.length - 1]], length, step.cache);
      length += 1;
    }
  }
}
