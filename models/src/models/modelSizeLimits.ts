import { SwapformerError } from '@swapformer/core';

/**
 * Sizes a model config may ask for before anything is allocated. Each field has its own schema
 * maximum, but the fields multiply: hiddenSize 65536 × numLayers 4096 passes every per-field check
 * and asks for 10^14 weights, which would run the process out of memory after minutes of
 * allocation instead of failing with a message. The counts below follow the ViT/GPT graphs
 * (embeddings, attention and MLP weights, norms, heads); they are exact to within the biases.
 */

/** Weights in float32: 2^31 = 8 GiB (GPT-2 XL has 1.6 × 10^9). */
export const MAX_MODEL_PARAMETERS = 2 ** 31;
/** Floats in one layer's hidden state for one image (tokens × width): 2^28 = 1 GiB. */
export const MAX_HIDDEN_STATE = 2 ** 28;

type Fields = Readonly<Record<string, unknown>>;
const num = (c: Fields, key: string, fallback = 0): number => (typeof c[key] === 'number' ? (c[key] as number) : fallback);

/** Weights of one pre-norm transformer block of width d and MLP width m. */
function blockParameters(d: number, m: number): number {
  return 4 * (d * d + d) + (d * m + m) + (m * d + d) + 4 * d;
}

/** Weight count of a ViT or GPT config (schema defaults applied) and its largest per-image hidden state. */
export function modelSize(c: Fields): { parameters: number; hiddenState: number } {
  const d = num(c, 'hiddenSize');
  const m = num(c, 'intermediateSize', 4 * d);
  const layers = num(c, 'numLayers');
  if (c.model === 'gpt') {
    const vocab = num(c, 'vocabSize');
    const untiedHead = c.lmHead !== false && c.tieWordEmbeddings === false ? d * vocab : 0;
    return { parameters: vocab * d + num(c, 'nPositions') * d + layers * blockParameters(d, m) + 2 * d + untiedHead, hiddenState: 0 };
  }
  const image = num(c, 'imageSize');
  const channels = num(c, 'numChannels', 3);
  const stage = c.pixelStage as Fields | undefined;
  let parameters = layers * blockParameters(d, m) + 2 * d + num(c, 'numLabels') * (d + 1) + (c.pooler ? d * d + d : 0);
  let hiddenState: number;
  if (stage) {
    const hs = num(stage, 'hiddenSize');
    const merge = num(stage, 'patchMerge', 1);
    const tokens = (image / merge) ** 2 + 1;
    parameters += channels * hs + hs + num(stage, 'layers') * blockParameters(hs, num(stage, 'intermediateSize', 4 * hs)) + merge * merge * hs * d + d + tokens * d;
    hiddenState = Math.max(image * image * hs, tokens * d);
  } else {
    const patch = num(c, 'patchSize', 1);
    const tokens = (image / patch) ** 2 + 1;
    parameters += channels * patch * patch * d + d + tokens * d + d;
    hiddenState = tokens * d;
  }
  return { parameters, hiddenState };
}

const gib = (floats: number) => `${((floats * 4) / 2 ** 30).toFixed(floats * 4 < 2 ** 30 ? 2 : 0)} GiB`;

/**
 * Throws `invalid-config` when a model config (schema-valid, defaults applied) would need more
 * weights or a larger per-image hidden state than the limits above.
 *
 * @example assertModelFits({ model: 'gpt', vocabSize: 1000000, nPositions: 1048576, hiddenSize: 65536, numLayers: 4096, numHeads: 4096 });
 */
export function assertModelFits(config: Fields): void {
  const { parameters, hiddenState } = modelSize(config);
  if (parameters > MAX_MODEL_PARAMETERS) {
    throw new SwapformerError('invalid-config', `the model would have ${parameters.toExponential(2)} parameters (${gib(parameters)} of float32 weights); the limit is ${MAX_MODEL_PARAMETERS} (${gib(MAX_MODEL_PARAMETERS)}). Reduce hiddenSize, numLayers, the vocabulary or the image size.`);
  }
  if (hiddenState > MAX_HIDDEN_STATE) {
    throw new SwapformerError('invalid-config', `one image's hidden state would hold ${hiddenState.toExponential(2)} values (${gib(hiddenState)}) per layer; the limit is ${MAX_HIDDEN_STATE} (${gib(MAX_HIDDEN_STATE)}). Use larger patches or a smaller image.`);
  }
}
