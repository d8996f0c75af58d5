import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { decodeImageFile, loadCheckpointWithReport, readCheckpointTokenizer, resolveCheckpointFolder, tensorFromJson, writeTensorOutputs, OUTPUT_FORMATS, type BuiltInModel, type OutputTensor } from '@swapformer/models';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';
import { ALLOW_UNTRAINED_HELP, allowUntrainedOperators, attentionFromFlags } from './attentionFlags';
import { imageInput, textInput, type ModelInput } from './inferInputs';
import { formatPredictions, labelsOf, topPredictions, type Prediction } from './topPredictions';

/** Input files may hold a batch of images: allow more than a config's 8 MB. */
const MAX_INPUT_BYTES = 1024 * 1024 * 1024;

interface InferFlags {
  checkpoint: string;
  revision: string;
  input?: string;
  image?: string;
  text?: string;
  output?: string;
  topK: string;
  json?: boolean;
  operator?: string;
  config?: string;
  training?: boolean;
  allowUntrainedOperators?: boolean;
  seed?: string;
  backend: string;
  matmul?: string;
}

function jsonInput(model: BuiltInModel, file: string): ModelInput {
  const input = readJsonFile(file, MAX_INPUT_BYTES) as Record<string, unknown>;
  const key = model.kind === 'vit' ? 'pixel_values' : 'input_ids';
  if (typeof input !== 'object' || input === null || !(key in input)) {
    throw new SwapformerError('invalid-input', `${file}: a ${model.kind === 'vit' ? 'ViT' : model.kind === 'gpt' ? 'GPT' : 'Llama-family'} checkpoint needs "${key}" in the input JSON.`, { path: file });
  }
  return { tensor: tensorFromJson(input[key], model.kind === 'vit' ? 'float32' : 'int32', key) };
}

const asOutput = (t: Tensor): OutputTensor => ({ shape: [...t.shape], data: t.dataSync() as Float32Array });

/** Runs the model; returns its outputs by their transformers names. */
function runModel(model: BuiltInModel, x: Tensor, seed: number | undefined): Record<string, OutputTensor> {
  if (model.kind === 'vit' && model.modelConfig.pooler) {
    const { lastHiddenState, pooled } = model.features(x, { seed });
    try {
      return { last_hidden_state: asOutput(lastHiddenState), pooler_output: asOutput(pooled!) };
    } finally {
      tf.dispose([lastHiddenState, pooled!]);
    }
  }
  const headless = model.kind === 'vit' ? model.modelConfig.numLabels === 0 : !model.modelConfig.lmHead;
  const out = model.forward(x, { seed });
  try {
    return { [headless ? 'last_hidden_state' : 'logits']: asOutput(out) };
  } finally {
    out.dispose();
  }
}

/** The class scores of the first image, or the next-token scores after the last prompt token. */
function lastRow(logits: OutputTensor): Float32Array {
  const width = logits.shape[logits.shape.length - 1];
  const rows = logits.data.length / width;
  const row = logits.shape.length === 3 ? logits.shape[1] - 1 : 0; // GPT [1, t, vocab]; ViT [b, labels]
  return logits.data.subarray(Math.min(row, rows - 1) * width, (Math.min(row, rows - 1) + 1) * width);
}

export function registerInferCommand(program: Command, run: CommandRunner): void {
  program
    .command('infer')
    .description('run a Hugging Face ViT, GPT-2 or Llama-family checkpoint (config.json + safetensors, or a hub cache folder models--org--name) on an image, a text or tensors from JSON; print the top-k classes or next tokens and/or write its outputs, optionally with another attention operator swapped in')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder (config.json + model.safetensors or model.safetensors.index.json), or a hub cache folder models--org--name (refs/main)')
    .option('--revision <ref>', 'in a hub cache folder: the ref (refs/<ref>) or snapshot commit to load', 'main')
    .option('--input <file>', 'JSON with "pixel_values" (ViT) or "input_ids" (GPT) as {"shape": [...], "data": [...]}')
    .option('--image <file>', 'PNG or JPEG for a ViT, preprocessed as the checkpoint\'s preprocessor_config.json says')
    .option('--text <text>', 'text for a GPT, tokenized with the checkpoint\'s tokenizer.json (else its config\'s tokenizer)')
    .option('--output <file>', `write the outputs ("logits", or "last_hidden_state" for a bare model): ${OUTPUT_FORMATS.join(', ')} by extension, written atomically; "-" writes JSON to stdout`)
    .option('--top-k <k>', 'print the k most likely classes (ViT) or next tokens (GPT)', '5')
    .option('--operator <name>', 'swap this operator into every layer')
    .option('--config <file>', 'swap in the attention selection of this config file (per-layer overrides allowed)')
    .option('--allow-untrained-operators', ALLOW_UNTRAINED_HELP)
    .addOption(new Option('--training', 'deprecated alias of --allow-untrained-operators').hideHelp())
    .option('--seed <s>', 'seed for randomized operators')
    .option('--backend <name>', 'wasm | cpu | webgpu | tensorflow | auto', 'wasm')
    .option('--json', 'print the summary (architecture, tensors loaded, operators, output) as JSON on stdout')
    .option(...MATMUL_FLAG)
    .action((opts: InferFlags) =>
      run(async () => {
        const given = (['input', 'image', 'text'] as const).filter((k) => opts[k] !== undefined);
        if (given.length !== 1) throw new SwapformerError('invalid-config', `give exactly one of --input, --image and --text${given.length ? ` (got ${given.map((k) => `--${k}`).join(' and ')})` : ''}.`);
        const topK = parseIntegerOption('--top-k', opts.topK, 0, 1000);
        // stdout carries the result itself with --output -, so the summary cannot go there too
        if (opts.json && opts.output === '-') throw new SwapformerError('invalid-config', '--json and --output - both want stdout; give --output a file.');
        const seed = opts.seed === undefined ? undefined : Number(opts.seed);
        if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new SwapformerError('invalid-config', `--seed must be a non-negative integer, got "${opts.seed}".`);
        await startBackend(opts.backend as BackendRequest, Boolean(opts.json), parseMatMulChoice(opts.matmul));
        const { registry } = createCliSession({ seed: seed ?? 0 });
        const attention = attentionFromFlags(opts, registry);
        // inputs that can fail on their own (an image that does not decode, an unusable tokenizer.json) fail before the load
        const image = opts.image !== undefined ? decodeImageFile(opts.image) : undefined;
        const dir = resolveCheckpointFolder(opts.checkpoint, opts.revision);
        const tokenizer = opts.text !== undefined ? readCheckpointTokenizer(dir) : undefined;
        const { model, report } = loadCheckpointWithReport(dir, registry, { attention, training: allowUntrainedOperators(opts) });
        try {
          const input = image ? imageInput(model, report.dir, image) : opts.text !== undefined ? textInput(model, report.dir, opts.text, tokenizer) : jsonInput(model, opts.input!);
          let outputs: Record<string, OutputTensor>;
          try {
            outputs = runModel(model, input.tensor, seed);
          } finally {
            input.tensor.dispose();
          }
          const operators = model.layers.map((l) => l.resolved.name);
          const logits = outputs.logits;
          if (!logits && opts.output === undefined) throw new SwapformerError('invalid-config', `this checkpoint has no classifier or LM head (it outputs ${Object.keys(outputs).join(' and ')}); give --output <file> to write them.`);
          if (opts.output !== undefined) writeTensorOutputs(opts.output, outputs, input.tokens ? { operators, input_ids: input.ids, tokens: input.tokens } : { operators });
          let predictions: Prediction[] = [];
          if (logits && topK > 0) predictions = topPredictions(lastRow(logits), topK, input.label ?? (model.kind === 'vit' ? labelsOf(report.dir) : String));
          if (opts.json) process.stdout.write(`${JSON.stringify({ architecture: report.architecture, tensorsLoaded: report.loaded.length, operatorInitialised: report.operatorInitialised, ...(input.tokens ? { input_ids: input.ids, tokens: input.tokens } : {}), top: predictions, operators, output: opts.output === '-' ? 'stdout' : opts.output }, null, 2)}\n`);
          else if (predictions.length) (opts.output === '-' ? process.stderr : process.stdout).write(`${input.tokens ? `next token after ${input.tokens.length} tokens:\n` : ''}${formatPredictions(predictions)}\n`);
          const initialised = report.operatorInitialised.length ? `; ${report.operatorInitialised.length} operator-owned tensors initialised` : '';
          if (!opts.json) process.stderr.write(`[swapformer] ${report.architecture}: ${report.loaded.length} tensors loaded${initialised}; operators ${[...new Set(operators)].join(', ')}${opts.output !== undefined ? `; wrote ${opts.output === '-' ? 'stdout' : opts.output}` : ''}\n`);
        } finally {
          model.dispose();
        }
      }),
    );
}
