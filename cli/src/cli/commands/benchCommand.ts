import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { writeFileAtomic } from '@swapformer/models';
import { createBenchLineup, benchEnvironment, defaultPeers, PEER_NAMES, type PeerName } from '../../bench/createBenchContenders';
import { benchChartSpec, formatBenchMarkdown, formatBenchText } from '../../bench/formatBenchReport';
import type { BenchReport } from '../../bench/benchTypes';
import { benchSteps, runBenchmark } from '../../bench/runBenchmark';
import { renderSvgChart } from '../../plot/svgChart';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';
import { createProgressBar } from '../progressBar';

/** The default sweep: short enough for `npm run bench` on a 2-core machine, long enough to fit exponents. */
export const DEFAULT_BENCH_NS = [256, 512, 1024, 2048, 4096, 8192, 16384];

/** Writes `<backend>.md`, `.svg` and `.json` of a report into `dir`, each atomically. */
function writeDocs(report: BenchReport, dir: string, command: string): void {
  const base = report.environment.backend;
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, `${base}.svg`), renderSvgChart(benchChartSpec(report)));
  writeFileAtomic(path.join(dir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(path.join(dir, `${base}.md`), formatBenchMarkdown(report, `${base}.svg`, command));
  process.stderr.write(`[swapformer] bench: wrote ${path.join(dir, `${base}.{md,svg,json}`)}\n`);
}

function parseList(raw: unknown): string[] | undefined {
  return typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

function parseLimits(raw: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of parseList(raw) ?? []) {
    const [name, value] = item.split('=');
    if (!name || value === undefined) throw new SwapformerError('invalid-config', `--limit takes name=n pairs separated by commas, got "${item}".`);
    out[name] = parseIntegerOption(`--limit ${name}`, value, 1, 1 << 24);
  }
  return out;
}

export function registerBenchCommand(program: Command, run: CommandRunner): void {
  program
    .command('bench')
    .description('time the installed operators and peer implementations of exact attention over sequence lengths, in one run')
    .option('--n <list>', 'sequence lengths, comma-separated', DEFAULT_BENCH_NS.join(','))
    .option('--operators <list>', 'operators to time (default: every installed one)')
    .option('--peers <list>', `peers: ${PEER_NAMES.join(', ')}, or "none" (default: tfjs-plain, numpy, onnxruntime; on webgpu tfjs-plain and the torch rows)`)
    .option('--limit <list>', 'largest n per row, e.g. "exact=8192,numpy=4096"')
    .option('--tfjs-ops-rows', 'on webgpu, also time each operator with its WGSL programs turned off (rows "<name>, tfjs ops")')
    .option('--heads <h>', 'heads', '4')
    .option('--dim <d>', 'head dimension', '64')
    .option('--seed <s>', 'seed of the inputs and of randomized operators', '0')
    .option('--repeats <r>', 'timed repeats after a warm-up (fewer where one call is slow)', '5')
    .option('--cell-budget <seconds>', 'time budget per row and n for the repeats', '8')
    .option('--min-repeats <r>', 'timed repeats every row and n gets, whatever the budget', '3')
    .option('--threads <t>', 'threads of our fused CPU kernel and of the numpy and onnxruntime peers (default: the core count)')
    .option('--fit-from <n>', 'fit the scaling exponent over n ≥ this', '2048')
    .option('--no-profile', 'do not profile the warm-up call (peak bytes, per-kernel ms)')
    .option('--profile-max-n <n>', 'profile the warm-up only up to this n')
    .option('--python <exe>', 'python for the numpy/torch peers', 'python3')
    .option('--device <name>', 'device name for the report (default: the CPU model)')
    .option('--backend <name>', 'wasm | cpu | webgpu | tensorflow | auto', 'wasm')
    .option(...MATMUL_FLAG)
    .option('--json', 'print the report as JSON instead of tables')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--write-docs [dir]', 'write <backend>.md, .svg and .json to this folder (default docs/benchmarks)')
    .option('--render <report.json>', 'measure nothing: print (and with --write-docs, write) the docs of a saved report')
    .action((opts: Record<string, string | boolean | undefined>) =>
      run(async () => {
        if (typeof opts.render === 'string') {
          const report = readJsonFile(opts.render, 256 * 1024 * 1024) as BenchReport;
          if (opts.writeDocs) writeDocs(report, typeof opts.writeDocs === 'string' ? opts.writeDocs : path.join('docs', 'benchmarks'), `node cli/dist/cli.js bench ${process.argv.slice(3).join(' ')}`.trim());
          process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatBenchText(report));
          return;
        }
        const ns = (parseList(opts.n) ?? []).map((x) => parseIntegerOption('--n', x, 2, 1 << 22)).sort((a, b) => a - b);
        if (ns.length === 0) throw new SwapformerError('invalid-config', '--n needs at least one sequence length.');
        const heads = parseIntegerOption('--heads', opts.heads, 1, 256);
        const dim = parseIntegerOption('--dim', opts.dim, 1, 1024);
        const seed = parseIntegerOption('--seed', opts.seed, 0, 2 ** 31 - 1);
        const repeats = parseIntegerOption('--repeats', opts.repeats, 1, 1000);
        const cellBudget = parseIntegerOption('--cell-budget', opts.cellBudget, 0, 3600);
        const minRepeats = Math.min(repeats, parseIntegerOption('--min-repeats', opts.minRepeats, 1, 1000));
        const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
        const threads = opts.threads === undefined ? cores : parseIntegerOption('--threads', opts.threads, 1, 1024);
        const fitFromN = parseIntegerOption('--fit-from', opts.fitFrom, 1, 1 << 24);
        const profileMaxN = opts.profileMaxN === undefined ? undefined : parseIntegerOption('--profile-max-n', opts.profileMaxN, 0, 1 << 24);
        const backend = await startBackend(String(opts.backend) as BackendRequest, Boolean(opts.json), parseMatMulChoice(opts.matmul), threads);
        const peerList = parseList(opts.peers);
        const peers = (peerList?.[0] === 'none' ? [] : (peerList ?? defaultPeers(backend.active))) as PeerName[];
        for (const p of peers) {
          if (!(PEER_NAMES as readonly string[]).includes(p)) throw new SwapformerError('invalid-config', `unknown peer "${p}".\n  Valid peers: ${PEER_NAMES.join(', ')}, none.`);
        }
        const { registry } = createCliSession({ seed, kernels: { threads } });
        const lineup = await createBenchLineup(registry, {
          backend: backend.active,
          operators: parseList(opts.operators),
          peers,
          heads,
          dim,
          seed,
          threads,
          largestN: ns[ns.length - 1],
          limits: parseLimits(opts.limit),
          python: String(opts.python),
          tfjsOpsRows: opts.tfjsOpsRows === true,
        });
        try {
          for (const u of lineup.unavailable) process.stderr.write(`[swapformer] bench: ${u.name} not run: ${u.reason}\n`);
          if (typeof opts.out === 'string') fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
          const bar = createProgressBar(benchSteps(lineup.contenders, ns), 'bench', process.stderr, { unit: 'cells' });
          const device = typeof opts.device === 'string' ? opts.device : undefined;
          const measured = await runBenchmark(
            lineup.contenders,
            {
              ns,
              heads,
              dim,
              seed,
              repeats,
              cellBudgetMs: cellBudget * 1000,
              minRepeats,
              profile: opts.profile !== false,
              profileMaxN,
              fitFromN,
              onProgress: (label) => bar.tick(label),
              // a long sweep keeps what it measured so far if it is stopped
              onPoint: (partial) => typeof opts.out === 'string' && writeFileAtomic(opts.out, `${JSON.stringify(partial, null, 2)}\n`),
            },
            benchEnvironment(registry.services.kernels, device, threads),
            lineup.unavailable,
          );
          // described after the run: the fused kernel starts its worker threads on its first large call
          const report = { ...measured, environment: benchEnvironment(registry.services.kernels, device, threads) };
          bar.done();
          const json = `${JSON.stringify(report, null, 2)}\n`;
          if (typeof opts.out === 'string') writeFileAtomic(opts.out, json);
          if (opts.writeDocs) writeDocs(report, typeof opts.writeDocs === 'string' ? opts.writeDocs : path.join('docs', 'benchmarks'), `node cli/dist/cli.js bench ${process.argv.slice(3).join(' ')}`.trim());
          process.stdout.write(opts.json ? json : formatBenchText(report));
        } finally {
          await lineup.close();
        }
      }),
    );
}
