import { SwapformerError } from '@swapformer/core';

/**
 * Sizes a model config may ask for before anything is allocated. Each field has its own schema
 * maximum, but the fields multiply: hiddenSize 65536 × numLayers 4096 passes every per-field check
 * and asks for 10^14 weights, which would run the process out of memory after minutes of
 * allocation instead of failing with a message. Each family counts its own weights
 * (`ModelFamily.modelSize`), exact to within the biases.
 */

/** Weights in float32: 2^31 = 8 GiB (GPT-2 XL has 1.6 × 10^9). */
export const MAX_MODEL_PARAMETERS = 2 ** 31;
/** Floats in one layer's hidden state for one image (tokens × width): 2^28 = 1 GiB. */
export const MAX_HIDDEN_STATE = 2 ** 28;

export type Fields = Readonly<Record<string, unknown>>;

/** Weight count of a config and its largest per-input hidden state (0 where sequences are not fixed). */
export interface ModelSize {
  readonly parameters: number;
  readonly hiddenState: number;
}

export const num = (c: Fields, key: string, fallback = 0): number => (typeof c[key] === 'number' ? (c[key] as number) : fallback);

/** Weights of one pre-norm transformer block of width d and MLP width m. */
export function blockParameters(d: number, m: number): number {
  return 4 * (d * d + d) + (d * m + m) + (m * d + d) + 4 * d;
}

const gib = (floats: number) => `${((floats * 4) / 2 ** 30).toFixed(floats * 4 < 2 ** 30 ? 2 : 0)} GiB`;

/**
 * Throws `invalid-config` when a model config (schema-valid, defaults applied) would need more
 * weights or a larger per-input hidden state than the limits above; `sizeOf` is its family's count.
 *
 * @example assertModelFits({ model: 'gpt', vocabSize: 1000000, nPositions: 1048576, hiddenSize: 65536, numLayers: 4096, numHeads: 4096 }, gptModelSize);
 */
export function assertModelFits(config: Fields, sizeOf: (config: Fields) => ModelSize): void {
  const { parameters, hiddenState } = sizeOf(config);
  if (parameters > MAX_MODEL_PARAMETERS) {
    throw new SwapformerError('invalid-config', `the model would have ${parameters.toExponential(2)} parameters (${gib(parameters)} of float32 weights); the limit is ${MAX_MODEL_PARAMETERS} (${gib(MAX_MODEL_PARAMETERS)}). Reduce hiddenSize, numLayers, the vocabulary or the image size.`);
  }
  if (hiddenState > MAX_HIDDEN_STATE) {
    throw new SwapformerError('invalid-config', `one image's hidden state would hold ${hiddenState.toExponential(2)} values (${gib(hiddenState)}) per layer; the limit is ${MAX_HIDDEN_STATE} (${gib(MAX_HIDDEN_STATE)}). Use larger patches or a smaller image.`);
  }
}
