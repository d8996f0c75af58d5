/**
 * What every causal decoder graph (GPT-2, Llama) offers `generate` and the CLI: logits from a
 * full forward, and incremental decoding through each layer's operator state. The state
 * bookkeeping shared by the decoder families lives here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { canReadSync, SwapformerError, type DecodingState } from '@swapformer/core';
import type { CallSettings, LayerOperator } from './selfAttention';
import type { SwapformerModel } from './SwapformerModel';

/** Decoding state of a whole decoder: one operator state per layer, and the tokens seen so far. */
export interface DecoderState {
  readonly batch: number;
  readonly length: number;
  readonly layers: readonly DecodingState[];
}

/** How the layers of a decoder can decode incrementally. */
export interface DecodingSupport {
  /** `null` when some layer has no decoder (`missing` lists them). */
  readonly mode: 'kv-cache' | 'recurrent-state' | 'mixed' | null;
  readonly missing: ReadonlyArray<{ readonly layer: number; readonly operator: string }>;
}

/** The config fields `generate` reads. */
export interface DecoderConfig {
  readonly vocabSize: number;
  /** false: a bare decoder whose forward gives the last hidden state. */
  readonly lmHead: boolean;
  readonly decoding: 'incremental' | 'recompute';
}

/** What `step` returns logits for. */
export interface StepOptions {
  /**
   * 'last': only each sequence's last new token (logits `[b, 1, vocab]`) — all that picking the
   * next token needs, and the LM head over a whole prompt is the biggest product of a prefill.
   * Default 'all'.
   */
  readonly logits?: 'all' | 'last';
}

export interface DecoderModel extends SwapformerModel {
  readonly modelConfig: DecoderConfig;
  /** Longest sequence the model takes: learned positions, a sliding window, or Infinity (rotary positions). */
  readonly contextLength: number;
  readonly layers: readonly LayerOperator[];
  decodingSupport(): DecodingSupport;
  /** An empty decoding state (every layer must have a decoder). */
  initDecoding(batch: number): DecoderState;
  /** Feeds t new tokens: logits `[b, t, vocab]` for them (`[b, 1, vocab]` with logits: 'last') and the next state (the old one stays valid until disposed). */
  step(ids: Tensor, state: DecoderState, options?: StepOptions): { logits: Tensor3D; state: DecoderState };
  /** Releases a state; with `keep`, only the tensors `keep` does not share (after a step). */
  disposeDecoding(state: DecoderState, keep?: DecoderState): void;
}

export function decodingSupportOf(layers: readonly LayerOperator[]): DecodingSupport {
  const missing = layers.filter((l) => !l.operator.decoder).map((l) => ({ layer: l.layerIndex, operator: l.resolved.name }));
  const kinds = new Set(layers.map((l) => l.resolved.capabilities.decoding));
  const mode = missing.length > 0 ? null : kinds.size > 1 ? 'mixed' : kinds.has('recurrent-state') ? 'recurrent-state' : 'kv-cache';
  return { mode, missing };
}

/** An empty state, or the error naming the layers whose operator keeps none. */
export function initDecoderState(label: string, layers: readonly LayerOperator[], batch: number): DecoderState {
  const { missing } = decodingSupportOf(layers);
  if (missing.length > 0) {
    throw new SwapformerError(
      'unsupported',
      `${label}: incremental decoding needs every layer's operator to keep a decoding state, but ${missing.map((m) => `layer ${m.layer} ("${m.operator}")`).join(', ')} ${missing.length === 1 ? 'has' : 'have'} none (capabilities.decoding = "none").\n  To recompute the prefix for every token instead: \`--decoding recompute\` on \`swapformer generate\`, \`decoding: "recompute"\` in generate()'s options, or "decoding": "recompute" in the model config (a checkpoint's config.json: "swapformer": {"decoding": "recompute"}). Or pick an operator with a kv-cache or recurrent state.`,
      { plugin: missing[0].operator, layer: missing[0].layer },
    );
  }
  return { batch, length: 0, layers: layers.map((l) => l.operator.decoder!.initState(batch)) };
}

/** Disposes the tensors of `state` that `other` does not share. */
export function disposeUnshared(state: DecodingState, other: DecodingState): void {
  const shared = new Set(other.tensors);
  tf.dispose(state.tensors.filter((t) => !shared.has(t)));
}

export function disposeDecoderState(layers: readonly LayerOperator[], state: DecoderState, keep?: DecoderState): void {
  state.layers.forEach((s, i) => (keep ? disposeUnshared(s, keep.layers[i]) : layers[i].operator.decoder?.disposeState(s)));
}

/**
 * The checks every decoder makes of its `input_ids` before the embedding: [batch, tokens] int32
 * with at least one token, and (where values can be read synchronously) every id inside the
 * vocabulary — a gather past the table would read garbage instead of failing. `label` names the
 * family in the message. Family-specific limits (positions, sliding window) stay with the family.
 */
export function checkTokenIds(ids: Tensor, label: string, vocabSize: number): void {
  const shape = ids.shape as number[];
  if (ids.rank !== 2 || shape[0] < 1 || shape[1] < 1) throw new SwapformerError('invalid-input', `${label}: input_ids must be [batch, tokens] with at least one token, got [${shape.join(', ')}].`);
  if (ids.dtype !== 'int32') throw new SwapformerError('invalid-input', `${label}: input_ids must be int32, got ${ids.dtype}.`);
  if (!canReadSync()) return; // webgpu in Node: no synchronous read (token ids come from host data there)
  const lo = tf.tidy(() => tf.min(ids).dataSync()[0]);
  const hi = tf.tidy(() => tf.max(ids).dataSync()[0]);
  if (lo < 0 || hi >= vocabSize) throw new SwapformerError('invalid-input', `${label}: input_ids must be in [0, ${vocabSize}) (vocabSize), got values from ${lo} to ${hi}.`);
}

/** What the decoding step needs of a block: GPT-2's and Llama's blocks both have it. */
export interface StepBlock {
  step(x: Tensor2D, batch: number, t: number, state: DecodingState, call: CallSettings): { output: Tensor2D; state: DecodingState };
}

/**
 * One incremental decoding step shared by the decoder families: `t` new tokens (already embedded
 * into `h`, [b·t, d]) run through every block against its cached state, then `head` turns the
 * last hidden state — of every new token, or with logits: 'last' of each sequence's last one —
 * into the output `[b, rows, ·]` (`rows` = t or 1). Each intermediate is disposed as soon as the
 * next exists; on failure the states made so far are dropped (tensors the old state still owns are kept).
 */
export function stepDecoderBlocks(
  blocks: readonly StepBlock[],
  embedded: Tensor2D,
  b: number,
  t: number,
  state: DecoderState,
  head: (h: Tensor2D, rows: number) => Tensor3D,
  options: StepOptions = {},
): { logits: Tensor3D; state: DecoderState } {
  const next: DecodingState[] = [];
  let h = embedded;
  try {
    blocks.forEach((block, i) => {
      const r = block.step(h, b, t, state.layers[i], {});
      h.dispose();
      h = r.output;
      next.push(r.state);
    });
    const lastOnly = options.logits === 'last' && t > 1;
    const logits = tf.tidy(() => (lastOnly ? head(tf.reshape(tf.slice(tf.reshape(h, [b, t, -1]), [0, t - 1, 0], [b, 1, -1]), [b, -1]) as Tensor2D, 1) : head(h, t)));
    return { logits, state: { batch: b, length: state.length + t, layers: next } };
  } catch (error) {
    next.forEach((s, i) => disposeUnshared(s, state.layers[i]));
    throw error;
  } finally {
    h.dispose();
  }
}
