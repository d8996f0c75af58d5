import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { preprocessImage, readImageProcessorConfig, tokenizerFor, type BuiltInModel, type HfTokenizer, type RasterImage, type Tokenizer } from '@swapformer/models';

/** What `infer` feeds the model, with what it needs to name the predictions. */
export interface ModelInput {
  readonly tensor: Tensor;
  /** Text inputs: the prompt's ids and token strings. */
  readonly ids?: readonly number[];
  readonly tokens?: readonly string[];
  /** Text inputs: a token id's printable form (ViT labels come from config.json). */
  readonly label?: (id: number) => string;
}

/**
 * `--image` (decoded before the load, so a bad file fails at once): resized/rescaled/normalized
 * as the checkpoint's `preprocessor_config.json` says, as a batch of one `[1, channels, size, size]`.
 *
 * @example imageInput(vit, 'ckpt', decodeImageFile('shirt.png')).tensor.shape // [1, 1, 28, 28]
 */
export function imageInput(model: BuiltInModel, dir: string, image: RasterImage): ModelInput {
  if (model.kind !== 'vit') throw new SwapformerError('invalid-config', `--image needs a ViT checkpoint; "${dir}" is a ${model.kind === 'gpt' ? 'GPT' : 'Llama-family'} decoder (use --text or --input).`);
  const { numChannels: channels, imageSize: size } = model.modelConfig;
  const config = readImageProcessorConfig(dir, size);
  const pixels = preprocessImage(image, config, { channels, height: size, width: size });
  return { tensor: tf.tensor4d(pixels, [1, channels, size, size], 'float32') };
}

/**
 * `--text`: tokenized with the checkpoint's `tokenizer.json` (`hf`, read before the load), else
 * the tokenizer its config names, as `input_ids` `[1, n]`.
 *
 * @example textInput(gpt, 'ckpt', 'Hello', readCheckpointTokenizer('ckpt')).tokens // ['Hello']
 */
export function textInput(model: BuiltInModel, dir: string, text: string, hf: HfTokenizer | undefined): ModelInput {
  if (model.kind === 'vit') throw new SwapformerError('invalid-config', `--text needs a decoder checkpoint (GPT-2 or Llama family); "${dir}" is a ViT (use --image or --input).`);
  if (!hf && model.kind !== 'gpt') throw new SwapformerError('invalid-config', `--text needs the checkpoint's tokenizer.json for a ${model.modelConfig.variant} model; "${dir}" has none (pass token ids with --input instead).`);
  const tokenizer: Tokenizer = hf ?? tokenizerFor((model as Extract<BuiltInModel, { kind: 'gpt' }>).modelConfig);
  const maxTokens = model.kind === 'gpt' ? model.modelConfig.nPositions : model.modelConfig.maxPositionEmbeddings;
  const encoded = hf ? hf.encodeWithTokens(text) : { ids: tokenizer.encode(text), tokens: undefined };
  const ids = encoded.ids;
  if (ids.length === 0) throw new SwapformerError('invalid-input', `--text ${JSON.stringify(text)} encodes to no tokens; give a non-empty text.`);
  const vocab = model.modelConfig.vocabSize;
  const outside = ids.find((id) => id >= vocab);
  if (outside !== undefined) throw new SwapformerError('invalid-input', `the tokenizer gives id ${outside}, outside the model's vocabulary (vocabSize ${vocab}); the checkpoint's tokenizer does not match its model.`);
  if (ids.length > maxTokens) throw new SwapformerError('invalid-input', `--text has ${ids.length} tokens; the model takes at most ${maxTokens}.`);
  const label = (id: number) => JSON.stringify(tokenizer.decode([id]));
  return { tensor: tf.tensor2d([ids], [1, ids.length], 'int32'), ids, tokens: encoded.tokens ?? ids.map((id) => tokenizer.decode([id])), label };
}
