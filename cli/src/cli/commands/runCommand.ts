import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { loadCheckpoint } from '@swapformer/models';
import { formatDropInText } from '../../run/formatDropIn';
import { validateRunConfig } from '../../run/runConfig';
import { plannedEvaluations, runDropIn } from '../../run/runDropIn';
import { writeDropInReport } from '../../run/writeDropInReport';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { createProgressBar } from '../progressBar';
import { ALLOW_UNTRAINED_HELP } from './attentionFlags';

export function registerRunCommand(program: Command, run: CommandRunner): void {
  program
    .command('run')
    .description('the main job: evaluate trained checkpoints with each attention operator swapped in; print the tables, write a markdown report and an SVG chart')
    .argument('<config>', 'run config (e.g. examples/dropin.json)')
    .option('--full', 'evaluate the whole 10,000-image Fashion-MNIST test set (apt-get install -y dataset-fashion-mnist) and the whole SOTU test split')
    .option('--data-dir <root>', 'with --full: read the test sets from <root>/fashion-mnist and <root>/sotu (exportTrainingData) instead of the apt and npm packages')
    .option('--backend <name>', 'override the config\'s backend: wasm | cpu | webgpu | tensorflow | auto')
    .option(...MATMUL_FLAG)
    .option('--json', 'print the report as JSON instead of tables')
    .option('--allow-untrained-operators', ALLOW_UNTRAINED_HELP)
    .option('--keep-going', 'exit 0 even when requested rows fail (not installed, refused options, failed mid-run); they stay in the report as skipped')
    .action((file: string, opts: Record<string, string | boolean | undefined>) =>
      run(async () => {
        const raw = readJsonFile(file) as Record<string, unknown>;
        const config = validateRunConfig(opts.backend ? { ...raw, backend: opts.backend } : raw, path.dirname(path.resolve(file)));
        await startBackend(config.backend as BackendRequest, false, parseMatMulChoice(opts.matmul));
        const { registry } = createCliSession({ seed: config.seeds[0] });
        const bar = createProgressBar(plannedEvaluations(config, registry), 'drop-in', process.stderr, { unit: 'evaluations' });
        const report = await runDropIn({ config, registry, full: Boolean(opts.full), fullDataDir: opts.dataDir ? String(opts.dataDir) : undefined, load: (dir, attention) => loadCheckpoint(dir, registry, { attention, training: opts.allowUntrainedOperators === true }), onProgress: (label) => bar.tick(label) });
        bar.done();
        const command = `swapformer run ${path.relative(process.cwd(), path.resolve(file)) || file}${opts.full ? ' --full' : ''}`;
        const files = writeDropInReport(report, config.output, command);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatDropInText(report)}`);
        // With --json stdout carries only the JSON document; where the files went goes to stderr.
        (opts.json ? process.stderr : process.stdout).write(`report: ${path.relative(process.cwd(), files.markdown)}\n${files.svg ? `chart:  ${path.relative(process.cwd(), files.svg)}\n` : ''}`);
        const rows = [...(report.vit?.rows ?? []), ...(report.gpt?.rows ?? [])];
        if (!rows.some((r) => !r.skipped)) throw new SwapformerError('invalid-checkpoint', 'no row ran: every checkpoint or operator above was skipped (see the reasons).');
        const failed = rows.filter((r) => r.failed);
        // a typo in an operator name must not look like a finished run to scripts and CI
        if (failed.length > 0 && !opts.keepGoing) {
          throw new SwapformerError('invalid-config', `${failed.length} requested row${failed.length === 1 ? '' : 's'} did not run (the report above lists the others):\n${failed.map((r) => `  ${r.label}: ${r.skipped}`).join('\n')}\n  Fix the config (swapformer validate ${file} checks names and options), or pass --keep-going to accept skipped rows.`);
        }
      }),
    );
}
