import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { createRegistryModelFactory } from '../../train/registryModelFactory';
import { validateTrainConfig } from '../../train/trainConfig';
import { loadTrainTask } from '../../train/trainTasks';
import { trainModel, type MetricsLine } from '../../train/trainModel';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';
import { createProgressBar } from '../progressBar';

function describe(line: MetricsLine, step: number, total: number): string {
  if (line.type === 'train') return `step ${step}/${total} loss ${line.loss.toFixed(4)} lr ${line.lr.toExponential(2)} |g| ${line.grad_norm.toFixed(2)} ${line.throughput.toFixed(0)} ${line.unit}/s`;
  if (line.type === 'eval') return `step ${step}/${total} ${line.metric} ${line.value.toFixed(4)} (best ${line.best === null ? '–' : line.best.toFixed(4)})`;
  return `step ${step}: phase ${line.phase} (${JSON.stringify(line.attention)})`;
}

export function registerTrainCommand(program: Command, run: CommandRunner): void {
  program
    .command('train')
    .description('train a ViT (Fashion-MNIST) or char-GPT (State of the Union) from a training config; resumable, metrics to <output>/metrics.jsonl')
    .requiredOption('--config <file>', 'training config (JSON; see examples/train-*.json)')
    .option('--resume', 'continue from <output>/last if it exists')
    .option('--backend <name>', 'override the config\'s backend: wasm | cpu | webgpu | tensorflow | auto')
    .option(...MATMUL_FLAG)
    .option('--output <dir>', 'override the config\'s output folder')
    .option('--steps <n>', 'override the total steps (smoke tests)')
    .option('--init <dir>', 'override the config\'s init: start from this checkpoint\'s weights (the optimizer starts fresh)')
    .option('--data-dir <root>', 'data exported by exportTrainingData: reads <root>/fashion-mnist or <root>/sotu instead of the apt / npm packages')
    .option('--max-minutes <m>', 'stop with a resumable checkpoint after this many minutes (continue with --resume)')
    .option('--json', 'print the result (steps, best metric, output folders) as JSON on stdout; progress stays on stderr')
    .action((opts: Record<string, string | boolean | undefined>) =>
      run(async () => {
        const file = String(opts.config);
        const raw = readJsonFile(file) as Record<string, unknown>;
        const steps = opts.steps === undefined ? undefined : parseIntegerOption('--steps', opts.steps, 1, 1e8);
        const maxMinutes = opts.maxMinutes === undefined ? undefined : parseIntegerOption('--max-minutes', opts.maxMinutes, 1, 100000);
        const overridden = {
          ...raw,
          ...(opts.backend ? { backend: opts.backend } : {}),
          ...(opts.output ? { output: opts.output } : {}),
          ...(opts.init ? { init: opts.init } : {}),
          ...(steps ? { schedule: { ...(raw.schedule as object), steps } } : {}),
          ...(opts.dataDir ? { data: { ...(raw.data as object), dir: path.join(String(opts.dataDir), String(raw.task)) } } : {}),
        };
        const config = validateTrainConfig(overridden);
        if (config.init && !opts.resume && !fs.existsSync(path.join(config.init, 'config.json'))) {
          // before the minutes of data loading and backend start-up, not after them
          throw new SwapformerError('io', `no checkpoint to start from at "${config.init}" (${opts.init ? '--init' : '"init" in the config'}): its config.json is missing.`, { path: config.init });
        }
        await startBackend(config.backend as BackendRequest, false, parseMatMulChoice(opts.matmul));
        const { registry } = createCliSession({ seed: config.seed });
        process.stderr.write(`[swapformer] loading ${config.task} data…\n`);
        const task = loadTrainTask(config);
        const factory = createRegistryModelFactory(registry, { ...config.model, ...task.modelConfigPatch });
        const bar = createProgressBar(Math.ceil(task.totalSteps / config.logEvery), `train ${path.basename(file, '.json')}`, process.stderr, { unit: 'steps', perTick: config.logEvery });
        const result = await trainModel({
          config,
          task,
          factory,
          resume: Boolean(opts.resume),
          maxMinutes,
          onMetrics: (line, progress) => {
            if (line.type === 'train') bar.tick(describe(line, progress.step, progress.totalSteps));
            else process.stderr.write(`\n[swapformer] ${describe(line, progress.step, progress.totalSteps)}\n`);
          },
        });
        bar.done(`${result.steps} steps in ${(result.elapsedMs / 1000).toFixed(0)} s`);
        const outputs = { best: path.join(result.output, 'best'), final: path.join(result.output, 'final'), resumable: path.join(result.output, 'last'), metrics: path.join(result.output, 'metrics.jsonl') };
        const status = result.paused ? 'paused' : result.stoppedEarly ? 'stopped-early' : 'finished';
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ status, steps: result.steps, totalSteps: result.totalSteps, elapsedMs: result.elapsedMs, metric: task.metric.name, bestMetric: result.bestMetric, bestStep: result.bestStep, outputs }, null, 2)}\n`);
          return;
        }
        const best = result.bestMetric === null ? 'no evaluation' : `best ${task.metric.name} ${result.bestMetric.toFixed(4)} at step ${result.bestStep}`;
        process.stdout.write(`${result.paused ? `paused at step ${result.steps}/${result.totalSteps} (--max-minutes); continue with --resume` : result.stoppedEarly ? 'stopped early' : 'finished'}: ${best}\n  best weights:  ${outputs.best}\n  final weights: ${outputs.final}\n  resumable:     ${outputs.resumable}\n  metrics:       ${outputs.metrics}\n`);
      }),
    );
}
