import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError } from '@swapformer/core';
import { createGemmEngine } from '@swapformer/kernels';
import { writeFileAtomic } from '@swapformer/models';
import { formatModelBenchMarkdown, modelTargets } from '../../bench/models/formatModelBench';
import type { ModelBenchReport } from '../../bench/models/modelBenchTypes';
import { benchGemms, benchGptForward, defineModelPeer, modelBenchScratch, withOurGemm } from '../../bench/models/runModelBench';
import { benchGptForwardGpu, benchVitForwardGpu, defineTorchPeer, torchCrossoverRows } from '../../bench/models/benchModelsGpu';
import { benchGptGeneration, benchVitForward } from '../../bench/models/benchOrtModels';
import { benchLlamaCrossover, crossoverSvg, CROSSOVER_OPERATORS } from '../../bench/models/llamaCrossover';
import { loadOnnxRuntime } from '../../bench/peers/onnxruntimePeer';
import { PythonPeerProcess } from '../../bench/peers/pythonPeer';
import { createCliSession, startBackend } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';

const PARTS = ['gemm', 'forward', 'vit', 'generation', 'crossover'] as const;

export function registerBenchModelsCommand(program: Command, run: CommandRunner): void {
  program
    .command('bench-models')
    .description('time whole models and their matrix products on wasm — tfjs-wasm\'s matMul, our GEMM, numpy on the same weights — in one run (issue 19)')
    .option('--only <parts>', `comma-separated: ${PARTS.join(', ')}`, PARTS.join(','))
    .option('--tokens <n>', 'tokens of the GPT-2-small forward', '1024')
    .option('--vit-batch <b>', 'batch of the ViT-base 224 forward', '8')
    .option('--prompt <n>', 'prompt tokens before generation', '16')
    .option('--new-tokens <n>', 'tokens generated after the prompt', '64')
    .option('--crossover-n <list>', 'sequence lengths of the Llama-shaped crossover', '512,1024,2048,4096,8192,16384')
    .option('--operators <list>', 'operators of the crossover', CROSSOVER_OPERATORS.join(','))
    .option('--cell-budget <s>', 'seconds a crossover cell may take (predicted from the previous ones; over it: skipped)', '60')
    .option('--no-onnxruntime', 'leave out the onnxruntime-node rows')
    .option('--keep-missing', 'parts not run this time are carried over from the existing models-<backend>.json (marked in the notes)')
    .option('--backend <name>', 'wasm (tfjs-wasm, our GEMM, numpy and onnxruntime peers) or webgpu (tfjs-webgpu next to PyTorch fp32 eager and SDPA on the same GPU)', 'wasm')
    .option('--device <name>', 'the GPU\'s name for the report (webgpu)')
    .option('--repeats <r>', 'timed repeats after a warm-up', '3')
    .option('--threads <t>', 'threads of our GEMM and fused attention, and of numpy\'s OpenBLAS (default: the core count)')
    .option('--seed <s>', 'seed of the random weights and inputs', '0')
    .option('--python <exe>', 'python with numpy for the numpy rows', 'python3')
    .option('--json', 'print the report as JSON')
    .option('--write-docs [dir]', 'write models-wasm.md and .json to this folder (default docs/benchmarks)')
    .action((opts: Record<string, string | boolean | undefined>) =>
      run(async () => {
        const parts = String(opts.only).split(',').map((s) => s.trim());
        for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new SwapformerError('invalid-config', `--only takes ${PARTS.join(', ')}, got "${p}".`);
        const tokens = parseIntegerOption('--tokens', opts.tokens, 1, 1024);
        const vitBatch = parseIntegerOption('--vit-batch', opts.vitBatch, 1, 256);
        const promptLength = parseIntegerOption('--prompt', opts.prompt, 1, 512);
        const newTokens = parseIntegerOption('--new-tokens', opts.newTokens, 1, 512);
        const ns = String(opts.crossoverN).split(',').map((x) => parseIntegerOption('--crossover-n', x.trim(), 16, 131072));
        const operators = String(opts.operators).split(',').map((x) => x.trim()).filter(Boolean);
        const cellBudgetS = parseIntegerOption('--cell-budget', opts.cellBudget, 1, 3600);
        const repeats = parseIntegerOption('--repeats', opts.repeats, 1, 100);
        const seed = parseIntegerOption('--seed', opts.seed, 0, 2 ** 31 - 1);
        const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
        const threads = opts.threads === undefined ? cores : parseIntegerOption('--threads', opts.threads, 1, 1024);
        const wanted = String(opts.backend);
        if (wanted !== 'wasm' && wanted !== 'webgpu') throw new SwapformerError('invalid-config', `bench-models: --backend takes wasm or webgpu, got "${wanted}".`);
        const gpu = wanted === 'webgpu';
        const backend = await startBackend(wanted, Boolean(opts.json), 'tfjs', threads); // on wasm the bench switches products itself
        if (backend.active !== wanted) throw new SwapformerError('unsupported', `bench-models --backend ${wanted}: the ${wanted} backend did not start (active: ${backend.active}); ${gpu ? 'a WebGPU adapter is needed (see docs/gpu.md).' : ''}`);
        const loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
        const started = PythonPeerProcess.start({ python: String(opts.python), threads, torch: gpu });
        const python = typeof started === 'string' ? null : started;
        if (typeof started === 'string') process.stderr.write(`[swapformer] bench-models: ${gpu ? 'PyTorch' : 'numpy'} rows not run: ${started}\n`);
        const dir = modelBenchScratch();
        const progress = (line: string) => process.stderr.write(`[swapformer] bench-models: ${line}\n`);
        try {
          const info = python ? await defineModelPeer(python) : {};
          const registry = createCliSession({ seed, kernels: { threads } }).registry;
          const previous = opts.keepMissing ? previousReport(typeof opts.writeDocs === 'string' ? opts.writeDocs : path.join('docs', 'benchmarks'), wanted) : null;
          const carried: string[] = [];
          const part = async <T>(name: (typeof PARTS)[number], run: () => Promise<T[]>, old: (r: ModelBenchReport) => readonly T[]): Promise<readonly T[]> => {
            if (parts.includes(name)) return run();
            if (previous && old(previous).length > 0) carried.push(name);
            return previous ? old(previous) : [];
          };
          const carriedNote = () => (carried.length > 0 ? [`Carried over unchanged from the previous run (--keep-missing): ${carried.join(', ')}; their load average and date are that run's.`] : []);
          if (gpu) {
            if (python) await defineTorchPeer(python);
            const g = { repeats, seed, python, dir, progress };
            const gptRows = await part('forward', async () => [await benchGptForwardGpu(g, registry, tokens)], (r) => r.forward.filter((f) => f.name.startsWith('GPT')));
            const vitRows = await part('vit', async () => [await benchVitForwardGpu(g, registry, vitBatch)], (r) => r.forward.filter((f) => f.name.startsWith('ViT')));
            const forward = [...gptRows, ...vitRows];
            const crossover = await part('crossover', async () => [...(await benchLlamaCrossover({ ns, operators, cellBudgetS, seed, progress }, registry, async (o) => void (await o.data()))), ...(await torchCrossoverRows(g, registry, ns))], (r) => r.crossover ?? []);
            const torchInfo = python ? `torch ${String(info.torch)} on ${String(info.device)}` : 'no PyTorch';
            const report: ModelBenchReport = {
              environment: { backend: 'webgpu', threads, node: process.version, cpu: String(opts.device ?? 'unknown GPU'), cores, loadAverage, numpy: torchInfo, date: new Date().toISOString().slice(0, 10) },
              gemm: [], forward, generation: [], crossover,
              targets: modelTargets([], [], [], crossover).slice(-1),
              notes: [
                'Swapformer on tfjs-webgpu (Dawn through the webgpu package), results read back with await data(); PyTorch fp32 (TF32 off) on the same GPU through a python3 child, CUDA synchronized around the call. Same random weights (raw float32 files).',
                'PyTorch eager: softmax(QKᵀ)V with an explicit causal mask; SDPA: F.scaled_dot_product_attention (is_causal for the decoders). The torch rows of the crossover run exact attention: peers, not drop-in operators.',
                'Logits are compared with PyTorch eager\'s. The products table and generation are wasm-only (not run here). CPU times are not measured on the GPU.',
                ...carriedNote(),
              ],
            };
            writeReport(opts, report, 'webgpu', progress);
            return;
          }
          const engine = createGemmEngine(threads);
          if (!engine) throw new SwapformerError('unsupported', 'bench-models: WebAssembly SIMD is not available in this engine, so our GEMM cannot run.');
          const loadedOrt = opts.onnxruntime === false ? 'left out (--no-onnxruntime)' : loadOnnxRuntime();
          if (typeof loadedOrt === 'string') progress(`onnxruntime rows not run: ${loadedOrt}`);
          const ort = typeof loadedOrt === 'string' ? null : loadedOrt;
          const options = { engine, repeats, seed, tokens, python, progress, ort, threads };
          const gemm = await part('gemm', () => benchGemms(options, dir), (r) => r.gemm);
          const gptForward = await part('forward', async () => [await benchGptForward(options, registry, dir)], (r) => r.forward.filter((f) => f.name.startsWith('GPT')));
          const vitForward = await part('vit', async () => [await benchVitForward(options, registry, dir, vitBatch)], (r) => r.forward.filter((f) => f.name.startsWith('ViT')));
          const forward = [...gptForward, ...vitForward];
          const generation = await part('generation', async () => [await benchGptGeneration(options, registry, promptLength, newTokens)], (r) => r.generation ?? []);
          const crossover = await part('crossover', () => withOurGemm(engine, () => benchLlamaCrossover({ ns, operators, cellBudgetS, seed, progress }, registry)), (r) => r.crossover ?? []);
          const report: ModelBenchReport = {
            environment: {
              backend: 'wasm', threads, node: process.version, cpu: os.cpus()[0]?.model?.trim() || 'unknown CPU', cores, loadAverage,
              numpy: python ? `numpy ${String(info.numpy)} (${String(info.blas)}, OPENBLAS_NUM_THREADS=${String(info.OPENBLAS_NUM_THREADS)})` : 'no numpy',
              date: new Date().toISOString().slice(0, 10),
            },
            gemm,
            forward,
            generation,
            crossover,
            targets: modelTargets(gemm, forward, generation, crossover),
            notes: [
              'Random weights at real size, generated by the bench from the seed; numpy reads the very same float32 arrays (raw files in a temporary folder, deleted after).',
              '"tfjs-wasm matMul" and "Swapformer GEMM" are the same tfjs graph; only the BatchMatMul/_FusedMatMul kernels differ (registerFastMatMul). Attention is the exact operator (fused WebAssembly kernel) in both.',
              'CPU use is the CPU time of all threads of the process over the wall time: ~100 % is one core busy.',
              'Timed: median of the repeats after one warm-up; numpy\'s times are taken inside Python around the compute only.',
              'onnxruntime-node (CPU execution provider, graph optimization "all", intra-op threads as above, no spinning) runs ONNX graphs built by the bench from the same weights (cli/src/bench/models/onnxTransformerGraphs.ts): GPT-2 with past key/values inputs and present outputs — generation feeds one token per step with the previous step\'s cache, as transformers.js does — and ViT with a Conv patch embedding. Its logits are checked against Swapformer\'s in cli/test/bench/onnxModelGraphs.test.ts (max rel. Δ < 1e-4).',
              'Generation: the time of the whole greedy call (prompt, then every new token); tokens/s = new tokens over that time. Swapformer decodes through exact\'s kv-cache with our GEMM registered.',
              ...carriedNote(),
            ],
          };
          writeReport(opts, report, 'wasm', progress);
        } finally {
          await python?.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
}

/** The last run's report, for --keep-missing; null when there is none. */
function previousReport(dir: string, backend: string): ModelBenchReport | null {
  const file = path.join(dir, `models-${backend}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ModelBenchReport) : null;
}

/** Writes models-<backend>.{md,json} (and the crossover SVG) with --write-docs; prints the report. */
function writeReport(opts: Record<string, string | boolean | undefined>, report: ModelBenchReport, backend: string, progress: (line: string) => void): void {
  if (opts.writeDocs) {
    const out = typeof opts.writeDocs === 'string' ? opts.writeDocs : path.join('docs', 'benchmarks');
    fs.mkdirSync(out, { recursive: true });
    writeFileAtomic(path.join(out, `models-${backend}.json`), `${JSON.stringify(report, null, 2)}\n`);
    if (report.crossover.length > 0) writeFileAtomic(path.join(out, `models-crossover-${backend}.svg`), crossoverSvg(report.crossover, backend));
    writeFileAtomic(path.join(out, `models-${backend}.md`), formatModelBenchMarkdown(report, `swapformer bench-models ${process.argv.slice(3).join(' ')}`.trim()));
    progress(`wrote ${path.join(out, `models-${backend}.{md,json}`)}`);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatModelBenchMarkdown(report, 'swapformer bench-models'));
}
