import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { loadCheckpointWithReport, writeFileAtomic, tensorFromJson, tensorToJson } from '@swapformer/models';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { ALLOW_UNTRAINED_HELP, allowUntrainedOperators, attentionFromFlags } from './attentionFlags';

/** Input files may hold a batch of images: allow more than a config's 8 MB. */
const MAX_INPUT_BYTES = 1024 * 1024 * 1024;

export function registerInferCommand(program: Command, run: CommandRunner): void {
  program
    .command('infer')
    .description('run a Hugging Face ViT/GPT-2 checkpoint (config.json + safetensors) on inputs from JSON and write its logits, optionally with another attention operator swapped in')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder (config.json + model.safetensors or model.safetensors.index.json)')
    .requiredOption('--input <file>', 'JSON with "pixel_values" (ViT) or "input_ids" (GPT) as {"shape": [...], "data": [...]}')
    .requiredOption('--output <file>', 'JSON file to write ("logits", or "last_hidden_state" for a bare encoder), written atomically; "-" for stdout')
    .option('--operator <name>', 'swap this operator into every layer')
    .option('--config <file>', 'swap in the attention selection of this config file (per-layer overrides allowed)')
    .option('--allow-untrained-operators', ALLOW_UNTRAINED_HELP)
    .addOption(new Option('--training', 'deprecated alias of --allow-untrained-operators').hideHelp())
    .option('--seed <s>', 'seed for randomized operators')
    .option('--backend <name>', 'wasm | cpu | webgpu | tensorflow | auto', 'wasm')
    .option('--json', 'print the summary (architecture, tensors loaded, operators, output) as JSON on stdout')
    .option(...MATMUL_FLAG)
    .action((opts: { checkpoint: string; input: string; output: string; operator?: string; config?: string; training?: boolean; allowUntrainedOperators?: boolean; seed?: string; backend: string; json?: boolean; matmul?: string }) =>
      run(async () => {
        // stdout carries the result itself with --output -, so the summary cannot go there too
        if (opts.json && opts.output === '-') throw new SwapformerError('invalid-config', '--json and --output - both want stdout; give --output a file.');
        await startBackend(opts.backend as BackendRequest, Boolean(opts.json), parseMatMulChoice(opts.matmul));
        const seed = opts.seed === undefined ? undefined : Number(opts.seed);
        if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new SwapformerError('invalid-config', `--seed must be a non-negative integer, got "${opts.seed}".`);
        const { registry } = createCliSession({ seed: seed ?? 0 });
        const attention = attentionFromFlags(opts, registry);
        const input = readJsonFile(opts.input, MAX_INPUT_BYTES) as Record<string, unknown>;
        const { model, report } = loadCheckpointWithReport(opts.checkpoint, registry, { attention, training: allowUntrainedOperators(opts) });
        try {
          const key = model.kind === 'vit' ? 'pixel_values' : 'input_ids';
          if (typeof input !== 'object' || input === null || !(key in input)) {
            throw new SwapformerError('invalid-input', `${opts.input}: a ${model.kind === 'vit' ? 'ViT' : 'GPT'} checkpoint needs "${key}" in the input JSON.`, { path: opts.input });
          }
          const x = tensorFromJson(input[key], model.kind === 'vit' ? 'float32' : 'int32', key);
          const result: Record<string, unknown> = {};
          try {
            const headless = model.kind === 'vit' ? model.modelConfig.numLabels === 0 : !model.modelConfig.lmHead;
            if (model.kind === 'vit' && model.modelConfig.pooler) {
              const { lastHiddenState, pooled } = model.features(x, { seed });
              result.last_hidden_state = tensorToJson(lastHiddenState);
              result.pooler_output = tensorToJson(pooled!);
              tf.dispose([lastHiddenState, pooled!]);
            } else {
              const out = model.forward(x, { seed });
              result[headless ? 'last_hidden_state' : 'logits'] = tensorToJson(out);
              out.dispose();
            }
          } finally {
            x.dispose();
          }
          result.operators = model.layers.map((l) => l.resolved.name);
          // "-" is stdout, as for most Unix tools; a file named "-" would surprise everyone
          if (opts.output === '-') process.stdout.write(`${JSON.stringify(result)}\n`);
          else writeFileAtomic(opts.output, JSON.stringify(result));
          const operators = [...new Set(result.operators as string[])];
          const summary = { architecture: report.architecture, tensorsLoaded: report.loaded.length, operatorInitialised: report.operatorInitialised, operators: result.operators, output: opts.output === '-' ? 'stdout' : opts.output };
          const initialised = report.operatorInitialised.length ? `; ${report.operatorInitialised.length} operator-owned tensors initialised` : '';
          if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          else process.stderr.write(`[swapformer] ${report.architecture}: ${report.loaded.length} tensors loaded${initialised}; operators ${operators.join(', ')}; wrote ${summary.output}\n`);
        } finally {
          model.dispose();
        }
      }),
    );
}
