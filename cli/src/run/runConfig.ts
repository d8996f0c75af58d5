/**
 * The main-job config (`swapformer run examples/dropin.json`): which checkpoints, which
 * operators, how much data, where the report goes. Paths are relative to the config file.
 */
import * as path from 'node:path';
import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { BACKEND_NAMES, SwapformerError } from '@swapformer/core';
import type { AttentionSpec, LayerSet } from '@swapformer/registry';

/**
 * A drop-in row: an operator swapped into the swap layers of an exact-trained checkpoint
 * (`name`, `options`), or a whole per-layer attention selection (`attention`) as `infer --config` takes.
 */
export interface DropInOperator {
  readonly label?: string;
  readonly name?: string;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly attention?: AttentionSpec;
}

/** A row for a checkpoint trained with its own operator (loaded as saved). */
export interface TrainedCheckpoint {
  readonly label: string;
  readonly checkpoint: string;
}

export interface VitRunConfig {
  readonly checkpoint: string;
  /** The long-sequence layers the operators are swapped into (and timed). */
  readonly swapLayers: LayerSet;
  readonly images: number;
  readonly batchSize: number;
  readonly operators: readonly DropInOperator[];
  readonly trained: readonly TrainedCheckpoint[];
  /** Checkpoints made by `swapformer adapt` from this one (drop-in → adapted → exact). */
  readonly adapted: readonly TrainedCheckpoint[];
}

export interface GptRunConfig {
  readonly checkpoint: string;
  /** Evaluation windows of `contextLength` characters from the held-out slice. */
  readonly windows: number;
  readonly contextLength: number;
  readonly batchSize: number;
  readonly operators: readonly DropInOperator[];
  readonly trained: readonly TrainedCheckpoint[];
  /** Checkpoints made by `swapformer adapt` from this one. */
  readonly adapted: readonly TrainedCheckpoint[];
  readonly sample: { readonly promptChars: number; readonly length: number; readonly temperature: number };
}

export interface RunConfig {
  readonly backend: string;
  readonly seeds: readonly number[];
  readonly vit?: VitRunConfig;
  readonly gpt?: GptRunConfig;
  /** Report folder and base name: `<dir>/<name>.md` and `<dir>/<name>.svg`. */
  readonly output: { readonly dir: string; readonly name: string };
}

const layerSetRef = { $ref: `${SCHEMA_IDS.attentionConfig}#/definitions/layerSet` };
const operatorList = {
  description: 'Drop-in rows on the exact-trained checkpoint: an operator (paper-default options unless given) or a whole per-layer selection. A row that cannot run (not installed, refused options) fails the run unless --keep-going.',
  type: 'array',
  maxItems: 64,
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    properties: {
      label: { description: 'Row label (default: the name, plus non-default options).', type: 'string', minLength: 1 },
      name: { description: 'Operator (plugin) name, swapped into swapLayers (ViT) or every layer (GPT).', type: 'string', minLength: 1 },
      options: { description: 'Operator options (validated by the plugin\'s schema).', type: 'object' },
      attention: { description: 'Instead of name/options: a whole attention selection with per-layer overrides, used as given (swapLayers does not apply).', $ref: `${SCHEMA_IDS.attentionConfig}#/definitions/attention` },
    },
  },
};
const trainedList = {
  description: 'Checkpoints trained with their own operator, evaluated as saved.',
  type: 'array',
  maxItems: 64,
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['label', 'checkpoint'],
    properties: {
      label: { description: 'Row label.', type: 'string', minLength: 1 },
      checkpoint: { description: 'Checkpoint folder (config.json + model.safetensors).', type: 'string', minLength: 1 },
    },
  },
};

const adaptedList = { ...trainedList, description: 'Checkpoints adapted from the exact one by `swapformer adapt` (attention transfer, then fine-tuning), evaluated as saved.' };

/** JSON Schema (draft-07) of the main-job config. */
export const RUN_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://swapformer.dev/schemas/run-config.schema.json',
  title: 'Drop-in run configuration',
  description: 'The main job: evaluate trained ViT/GPT checkpoints with each attention operator swapped in; write a markdown report and an SVG Pareto chart.',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { description: 'Editor hint; ignored.', type: 'string' },
    backend: { description: 'tfjs backend: wasm (default), cpu, webgpu, tensorflow or auto.', enum: [...BACKEND_NAMES, 'auto'], default: 'wasm' },
    seeds: { description: 'Seeds of randomized operators (capabilities.randomness "seeded"); deterministic operators run once with the first.', type: 'array', minItems: 1, maxItems: 100, items: { type: 'integer', minimum: 0, maximum: 2147483647 }, default: [1, 2, 3, 4, 5] },
    vit: {
      description: 'The ViT drop-in table on the Fashion-MNIST test subset.',
      type: 'object',
      additionalProperties: false,
      required: ['checkpoint', 'swapLayers'],
      properties: {
        checkpoint: { description: 'The exact-trained ViT checkpoint folder.', type: 'string', minLength: 1 },
        swapLayers: { description: 'Layers the drop-in operators replace (the long-sequence pixel stage, e.g. {"first": 2}); their attention time is reported.', ...layerSetRef },
        images: { description: 'Images evaluated from the committed 1,000-image subset (--full: the whole 10,000-image test set).', type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
        batchSize: { description: 'Images per forward.', type: 'integer', minimum: 1, maximum: 10000, default: 100 },
        operators: operatorList,
        trained: trainedList,
        adapted: adaptedList,
      },
    },
    gpt: {
      description: 'The char-GPT table on held-out State of the Union text.',
      type: 'object',
      additionalProperties: false,
      required: ['checkpoint'],
      properties: {
        checkpoint: { description: 'The exact-trained GPT checkpoint folder.', type: 'string', minLength: 1 },
        windows: { description: 'Held-out windows evaluated from the committed slice (--full: every window of the whole test split).', type: 'integer', minimum: 1, maximum: 100000, default: 16 },
        contextLength: { description: 'Characters per evaluation window.', type: 'integer', minimum: 2, maximum: 8192, default: 512 },
        batchSize: { description: 'Windows per forward.', type: 'integer', minimum: 1, maximum: 1024, default: 4 },
        operators: operatorList,
        trained: trainedList,
        adapted: adaptedList,
        sample: {
          description: 'The generated sample of every row.',
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            promptChars: { description: 'Prompt: this many characters from the start of the held-out slice.', type: 'integer', minimum: 1, maximum: 4096, default: 48 },
            length: { description: 'Characters generated.', type: 'integer', minimum: 0, maximum: 4096, default: 80 },
            temperature: { description: 'Sampling temperature (0: greedy).', type: 'number', minimum: 0, maximum: 10, default: 0.7 },
          },
        },
      },
    },
    output: {
      description: 'Where the report goes.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dir: { description: 'Folder of the markdown report and the SVG chart.', type: 'string', minLength: 1, default: '../docs/results' },
        name: { description: 'Base file name (`--full` appends "-full").', type: 'string', pattern: '^[A-Za-z0-9._-]+$', default: 'dropin' },
      },
    },
  },
} as const;

/**
 * Validates a run config (defaults applied) and resolves its paths against `baseDir`.
 *
 * @example const config = validateRunConfig(readJsonFile('examples/dropin.json'), 'examples');
 */
export function validateRunConfig(raw: unknown, baseDir: string): RunConfig {
  const result = validateAgainst<RunConfig>(RUN_CONFIG_SCHEMA, raw);
  if (!result.valid) throw new SwapformerError('invalid-config', `invalid run config:\n${formatIssues(result.issues)}`);
  const c = result.value;
  if (!c.vit && !c.gpt) throw new SwapformerError('invalid-config', 'invalid run config:\n  at /: nothing to run; give "vit", "gpt" or both.');
  const rowProblems = (['vit', 'gpt'] as const).flatMap((table) =>
    (c[table]?.operators ?? []).flatMap((op, i) => {
      const at = `/${table}/operators/${i}`;
      if ((op.name === undefined) === (op.attention === undefined)) return [`  at ${at}: give either "name" (one operator into the swap layers) or "attention" (a whole per-layer selection), not ${op.name === undefined ? 'neither' : 'both'}.`];
      return op.attention && op.options ? [`  at ${at}/options: "options" goes with "name"; inside "attention" each selection has its own options.`] : [];
    }),
  );
  if (rowProblems.length > 0) throw new SwapformerError('invalid-config', `invalid run config:\n${rowProblems.join('\n')}`);
  const at = (p: string) => path.resolve(baseDir, p);
  const trained = (list: readonly TrainedCheckpoint[]) => list.map((t) => ({ ...t, checkpoint: at(t.checkpoint) }));
  return {
    ...c,
    vit: c.vit && { ...c.vit, checkpoint: at(c.vit.checkpoint), trained: trained(c.vit.trained), adapted: trained(c.vit.adapted) },
    gpt: c.gpt && { ...c.gpt, checkpoint: at(c.gpt.checkpoint), trained: trained(c.gpt.trained), adapted: trained(c.gpt.adapted) },
    output: { ...c.output, dir: at(c.output.dir) },
  };
}
