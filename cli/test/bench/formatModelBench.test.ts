import { expect } from 'chai';
import { formatModelBenchMarkdown, modelTargets } from '../../src/bench/models/formatModelBench';
import { crossoverRule, type CrossoverRow } from '../../src/bench/models/llamaCrossover';
import type { ForwardRow, GemmRow, GenerationRow, ModelBenchReport } from '../../src/bench/models/modelBenchTypes';

const t = (ms: number, cpuMs = ms) => ({ ms, cpuMs, runs: 2 });
const head: GemmRow = { name: 'LM head (tied wte, transposed)', shape: '[1024, 768] × [50257, 768]ᵀ', flops: 2 * 1024 * 768 * 50257, timings: { tfjs: t(8000), swapformer: t(600, 1100), numpy: t(460) } };
const gpt: ForwardRow = { name: 'GPT-2 small (124 M), forward', tokens: 1024, batch: 1, parameters: 124e6, timings: { tfjs: t(16000), swapformer: t(7000), numpy: t(6000) }, agreement: { swapformer: 2e-6 } };

describe('model bench report', () => {
  it('should read issue 19\'s targets off the rows with their ratios, and leave unmeasured ones open', () => {
    const [forward, lmHead, ...rest] = modelTargets([head], [gpt]);
    expect(forward.met).to.equal(false);
    expect(forward.measured).to.contain('1.17× numpy');
    expect(lmHead.met).to.equal(true);
    expect(lmHead.measured).to.contain('1.30× numpy');
    expect(rest.every((r) => r.met === null)).to.equal(true);
    expect(modelTargets([], [])[0].met).to.equal(null);
  });

  it('should print GFLOP/s, wall and CPU times and the targets in Markdown', () => {
    const report: ModelBenchReport = {
      environment: { backend: 'wasm', threads: 2, node: 'v20', cpu: 'AMD EPYC', cores: 2, loadAverage: [1, 1, 1], numpy: 'numpy 2', date: '2026-12-06' },
      gemm: [head], forward: [gpt], generation: [], crossover: [], targets: modelTargets([head], [gpt]), notes: ['same weights'],
    };
    const md = formatModelBenchMarkdown(report, 'swapformer bench-models');
    expect(md).to.contain('| LM head (tied wte, transposed) | [1024, 768] × [50257, 768]ᵀ | 9.9 (8.00 s) | 131.7 (600.0 ms) | 171.8 (460.0 ms) | 0.07× | 1.30× | 183 % |');
    expect(md).to.contain('7.00 s (CPU 7.00 s)');
    expect(md).to.contain('| LM-head product (1024 × 768 × 50257): within 1.5× of numpy |');
    expect(md).to.contain('- same weights');
  });

  it('should rate generation and ViT against onnxruntime, and the best operator at n = 8,192 against exact', () => {
    const vit: ForwardRow = { name: 'ViT-base/16 (86 M), forward', tokens: 197, batch: 8, parameters: 86e6, timings: { swapformer: t(3000), onnxruntime: t(2500) }, agreement: {} };
    const gen: GenerationRow = { name: 'GPT-2 small generation', promptTokens: 16, newTokens: 64, timings: { swapformer: t(8000), onnxruntime: t(4000) } };
    const row = (operator: string, ms: number[]): CrossoverRow => ({ operator, cells: [4096, 8192].map((n, i) => ({ n, timing: t(ms[i]) })) });
    const crossover = [row('exact', [10, 40]), row('tost', [12, 15]), row('performer', [20, 30]), row('torch-sdpa', [1, 2])];
    const [, , generation, vitTarget, best] = modelTargets([], [vit], [gen], crossover);
    expect(generation.met).to.equal(false);
    expect(generation.measured).to.contain('8.0 vs 16.0 tokens/s').and.contain('2.00×');
    expect(vitTarget.met).to.equal(true);
    expect(vitTarget.measured).to.contain('1.20×');
    expect(best.measured).to.contain('tost').and.contain('2.67× faster'); // the PyTorch peer row is not a drop-in
    expect(best.met).to.equal(true);
    expect(crossoverRule(crossover[1], crossover[0])).to.match(/^tost is faster than exact end to end from n ≈ 4,[0-9]{3} /);
    expect(crossoverRule(row('slow', [20, 80]), crossover[0])).to.contain('not faster than exact end to end within the measured range');
  });
});
