import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { checkAttentionSpec } from '@swapformer/models';
import { adaptModel, checkAdaptable, type AdaptStage } from '../../adapt/adaptModel';
import { validateTrainConfig } from '../../train/trainConfig';
import { loadTrainTask } from '../../train/trainTasks';
import type { MetricsLine } from '../../train/trainModel';
import { createCliSession, startBackend } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';
import { parseNumberOption } from './attentionFlags';
import { parseIntegerOption } from '../parseOptions';
import { createProgressBar, type ProgressBar } from '../progressBar';

/** `--attention` is inline JSON (`{"name": "performer"}`) or a file holding it. */
function parseAttention(raw: string): unknown {
  const text = raw.trim().startsWith('{') ? raw : fs.readFileSync(raw, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SwapformerError('invalid-config', `--attention: not JSON (${(error as Error).message}); give e.g. '{"name": "performer", "options": {"featureMap": "learned"}}' or a file holding it.`);
  }
}

function describe(stage: AdaptStage, line: MetricsLine, step: number, total: number): string {
  if (line.type === 'train') {
    const rate = step / Math.max(line.elapsed_s, 1e-9);
    return `${stage} ${step}/${total} loss ${line.loss.toFixed(4)} lr ${line.lr.toExponential(2)} ${rate.toFixed(2)} steps/s ETA ${Math.round((total - step) / rate)}s`;
  }
  if (line.type === 'eval') return `${stage} step ${step}/${total} ${line.metric} ${line.value.toFixed(4)}`;
  return `${stage} ${line.phase}`;
}

export function registerAdaptCommand(program: Command, run: CommandRunner): void {
  program
    .command('adapt')
    .description(
      "adapt a trained checkpoint to other attention operators: stage 1 (attention transfer) trains what the operator owns (plus q/k with --transfer-qk) to match the exact model's attention outputs (MSE per swapped layer); stage 2 fine-tunes on the task loss, whole model or a LoRA merged on save. Writes <output>/transfer, <output>/finetune (metrics.jsonl, resumable last/) and <output>/final (the adapted checkpoint)",
    )
    .requiredOption('--checkpoint <dir>', 'the trained checkpoint (the teacher, run with exact attention)')
    .requiredOption('--config <file>', 'the training config the checkpoint was trained with (data, batchSize, seed, optimizer; see examples/train-*.json)')
    .requiredOption('--attention <json|file>', 'the selection to adapt to, e.g. \'{"name": "performer", "options": {"featureMap": "learned"}}\' or per-layer {"default": …, "overrides": […]}')
    .requiredOption('--output <dir>', 'run folder')
    .option('--transfer-steps <n>', 'stage-1 steps (0 skips it)', '200')
    .option('--transfer-lr <x>', 'stage-1 peak learning rate', '0.01')
    .option('--transfer-qk', "stage 1 also trains the q/k projections of the swapped layers (GPT-2's fused c_attn: q, k and v)")
    .option('--finetune-steps <n>', 'stage-2 steps (0 skips it)', '200')
    .option('--finetune-lr <x>', 'stage-2 peak learning rate', '0.001')
    .option('--lora-rank <r>', 'stage 2 trains a rank-r LoRA on q/k/v/o of the swapped layers (merged on save); 0 fine-tunes the whole model', '8')
    .option('--batch-size <n>', "override the config's batch size")
    .option('--context-length <n>', "override the config's training window length (shorter windows make CPU budgets go further; the model keeps its positions)")
    .option('--backend <name>', "override the config's backend: wasm | cpu | webgpu | tensorflow | auto")
    .option('--data-dir <root>', 'data exported by exportTrainingData: reads <root>/fashion-mnist or <root>/sotu instead of the apt / npm packages')
    .option('--resume', 'continue the stages from <output>/<stage>/last')
    .option('--max-minutes <m>', 'stop with resumable stages after this much wall time for both stages together (continue with --resume)')
    .action((opts: Record<string, string | boolean | undefined>) =>
      run(async () => {
        const raw = readJsonFile(String(opts.config)) as Record<string, unknown>;
        const batchSize = opts.batchSize === undefined ? undefined : parseIntegerOption('--batch-size', opts.batchSize, 1, 65536);
        const output = String(opts.output);
        const contextLength = opts.contextLength === undefined ? undefined : parseIntegerOption('--context-length', opts.contextLength, 8, 8192);
        const data = { ...(raw.data as object), ...(contextLength ? { contextLength } : {}), ...(opts.dataDir ? { dir: path.join(String(opts.dataDir), String(raw.task)) } : {}) };
        const base = validateTrainConfig({ ...raw, output, data, ...(batchSize ? { batchSize } : {}), ...(opts.backend ? { backend: opts.backend } : {}) });
        const attention = checkAttentionSpec(parseAttention(String(opts.attention)), '--attention');
        const rank = parseIntegerOption('--lora-rank', opts.loraRank, 0, 4096);
        const maxMinutes = opts.maxMinutes === undefined ? undefined : parseNumberOption('--max-minutes', opts.maxMinutes, 0.01, 100000);
        const transfer = {
          steps: parseIntegerOption('--transfer-steps', opts.transferSteps, 0, 1e8),
          learningRate: parseNumberOption('--transfer-lr', opts.transferLr, 1e-8, 1),
          queryKey: Boolean(opts.transferQk),
        };
        const finetune = {
          steps: parseIntegerOption('--finetune-steps', opts.finetuneSteps, 0, 1e8),
          learningRate: parseNumberOption('--finetune-lr', opts.finetuneLr, 1e-8, 1),
          loraRank: rank === 0 ? null : rank,
        };
        await startBackend(base.backend as BackendRequest);
        const { registry } = createCliSession({ seed: base.seed });
        const checkpoint = String(opts.checkpoint);
        checkAdaptable({ registry, checkpoint, attention, transfer, finetune }); // before minutes of data loading
        process.stderr.write(`[swapformer] loading ${base.task} data…\n`);
        const task = loadTrainTask(base);
        const bars = new Map<AdaptStage, ProgressBar>();
        const barOf = (stage: AdaptStage, total: number) => {
          if (!bars.has(stage)) bars.set(stage, createProgressBar(Math.ceil(total / Math.min(base.logEvery, total)), `adapt ${stage}`));
          return bars.get(stage)!;
        };
        const result = await adaptModel({
          registry,
          checkpoint,
          attention,
          base,
          task,
          output,
          transfer,
          finetune,
          resume: Boolean(opts.resume),
          maxMinutes,
          onMetrics: (stage, line, progress) => {
            if (line.type === 'train') barOf(stage, progress.totalSteps).tick(describe(stage, line, progress.step, progress.totalSteps));
            else if (line.type === 'eval') process.stderr.write(`\n[swapformer] ${describe(stage, line, progress.step, progress.totalSteps)}\n`);
          },
        });
        for (const bar of bars.values()) bar.done('');
        const metric = (r: typeof result.transfer) => (r?.bestMetric === null || r === null ? '–' : `${task.metric.name} ${r.bestMetric.toFixed(4)}`);
        if (result.paused) {
          const stage = result[result.paused]!;
          process.stdout.write(`paused in ${result.paused} at step ${stage.steps}/${stage.totalSteps} (--max-minutes); continue with the same command and --resume\n`);
          return;
        }
        process.stdout.write(
          `adapted layers ${result.swappedLayers.join(', ')}: transfer ${metric(result.transfer)}, finetune ${metric(result.finetune)}\n  adapted checkpoint: ${result.checkpoint}\n  metrics:            ${path.join(output, '<stage>', 'metrics.jsonl')}\n`,
        );
      }),
    );
}
