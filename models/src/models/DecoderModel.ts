/**
 * What every causal decoder graph (GPT-2, Llama) offers `generate` and the CLI: logits from a
 * full forward, and incremental decoding through each layer's operator state. The state
 * bookkeeping shared by the decoder families lives here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { SwapformerError, type DecodingState } from '@swapformer/core';
import type { LayerOperator } from './selfAttention';
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

export interface DecoderModel extends SwapformerModel {
  readonly modelConfig: DecoderConfig;
  /** Longest sequence the model takes: learned positions, a sliding window, or Infinity (rotary positions). */
  readonly contextLength: number;
  readonly layers: readonly LayerOperator[];
  decodingSupport(): DecodingSupport;
  /** An empty decoding state (every layer must have a decoder). */
  initDecoding(batch: number): DecoderState;
  /** Feeds t new tokens: logits `[b, t, vocab]` for them and the next state (the old one stays valid until disposed). */
  step(ids: Tensor, state: DecoderState): { logits: Tensor3D; state: DecoderState };
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
