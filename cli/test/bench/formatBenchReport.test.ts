import { expect } from 'chai';
import type { BenchCell, BenchReport } from '../../src/bench/benchTypes';
import { evaluateTargets } from '../../src/bench/evaluateTargets';
import { formatBenchMarkdown, formatBenchText, perNRows } from '../../src/bench/formatBenchReport';

function cell(contender: string, n: number, ms: number | null, note = ''): BenchCell {
  return { contender, n, timesMs: ms === null ? [] : [ms], medianMs: ms, minMs: ms, maxMs: ms, cpuMedianMs: null, peakBytes: null, relativeError: ms === null ? null : 1e-3, kernelMs: null, note };
}

function reportFixture(backend: string, cells: BenchCell[], names: Array<[string, 'operator' | 'peer' | 'variant']>): BenchReport {
  return {
    environment: { backend, device: 'dev', cpu: 'cpu', cores: 2, node: 'v20', tfjs: '4.22.0', platform: 'linux x64', date: '2026-01-01', notes: ['a note'], loadAverage: 0.5 },
    shape: { batch: 1, heads: 4, dim: 64 },
    seed: 0,
    ns: [...new Set(cells.map((c) => c.n))].sort((a, b) => a - b),
    contenders: names.map(([name, kind]) => ({ name, kind, detail: `${name} detail`, maxN: 65536, approximatesSoftmax: true })),
    cells,
    scaling: [
      { contender: 'performer', exponent: 1.1, fromN: 2048, toN: 16384, points: 4, basis: 'cpu' },
      { contender: 'thinformer', exponent: 1.7, fromN: 2048, toN: 16384, points: 4, basis: 'cpu' },
    ],
    unavailable: [{ name: 'torch-sdpa', reason: 'PyTorch with CUDA is not available here' }],
    wallSeconds: 12,
  };
}

describe('evaluateTargets', () => {
  it('should check the wasm targets with the ratios of this run', () => {
    const report = reportFixture(
      'wasm',
      [cell('exact', 4096, 500), cell('tfjs-plain', 4096, 10000), cell('numpy', 4096, 200), cell('onnxruntime', 4096, 150), cell('exact', 16384, 8000), cell('performer', 16384, 400), cell('thinformer', 16384, 1000)],
      [['exact', 'operator'], ['performer', 'operator'], ['thinformer', 'operator'], ['tfjs-plain', 'peer'], ['numpy', 'peer'], ['onnxruntime', 'peer']],
    );
    const checks = evaluateTargets(report);
    const byTarget = Object.fromEntries(checks.map((c) => [c.target, c]));
    expect(byTarget['exact ≥ 5× faster than the plain tfjs composition at n = 4096']).to.deep.include({ met: true, measured: 'tfjs-plain 10000 ms / exact 500 ms = 20× faster' });
    expect(byTarget['exact within 3× of numpy/OpenBLAS at n = 4096'].met).to.equal(true);
    expect(byTarget['exact ahead of onnxruntime-node or within 1.5× of it at n = 4096']).to.deep.include({ met: false, measured: 'exact 500 ms / onnxruntime 150 ms = 3.33× slower' });
    expect(byTarget['performer ≥ 10× faster than exact at n = 16384']).to.deep.include({ met: true });
    expect(byTarget['thinformer ≥ 10× faster than exact at n = 16384']).to.deep.include({ met: false });
    expect(byTarget['performer: scaling exponent ≤ 1.2'].met).to.equal(true);
    expect(byTarget['thinformer: scaling exponent ≤ 1.6']).to.deep.include({ met: false, measured: '1.70 (n 2048…16384, cpu time)' });
  });

  it('should check the webgpu targets and say what was not measured', () => {
    const report = reportFixture(
      'webgpu',
      [cell('exact', 65536, null, 'failed: out of memory'), cell('exact', 16384, 100), cell('performer', 16384, 5), cell('performer', 8192, 3), cell('torch-sdpa', 8192, 1)],
      [['exact', 'operator'], ['performer', 'operator'], ['torch-sdpa', 'peer']],
    );
    const checks = evaluateTargets(report);
    expect(checks[0]).to.deep.equal({ target: 'exact runs at n = 65536 (chunked, no 2 GiB binding)', measured: 'failed: out of memory', met: false });
    expect(checks[1]).to.deep.include({ met: true });
    expect(checks[2]).to.deep.include({ met: false, measured: 'performer 3.00 ms / torch-sdpa 1.00 ms = 3.00×' });
  });

  it('should leave variant rows (an operator with its WGSL programs off) out of the targets and the "vs" columns', () => {
    const report = reportFixture(
      'webgpu',
      [cell('exact', 16384, 100), cell('tost', 16384, 5), cell('tost, tfjs ops', 16384, 20), cell('tost', 8192, 3), cell('tost, tfjs ops', 8192, 0.5), cell('torch-sdpa', 8192, 1)],
      [['exact', 'operator'], ['tost', 'operator'], ['tost, tfjs ops', 'variant'], ['torch-sdpa', 'peer']],
    );
    const targets = evaluateTargets(report).map((c) => c.target);
    expect(targets).to.include('tost ≥ 10× faster than exact at n = 16384');
    expect(targets.some((t) => t.includes('tfjs ops'))).to.equal(false);
    expect(evaluateTargets(report).find((c) => c.target.startsWith('best approximation'))?.measured).to.equal('tost 3.00 ms / torch-sdpa 1.00 ms = 3.00×');
    expect(perNRows(report, 16384).header).not.to.include('vs tost, tfjs ops');
  });
});

describe('formatBenchMarkdown', () => {
  const report = reportFixture('wasm', [cell('exact', 1024, 40), cell('numpy', 1024, 20), cell('exact', 4096, 500), cell('numpy', 4096, null, 'not run above n = 1024')], [['exact', 'operator'], ['numpy', 'peer']]);

  it('should give speedups vs each reference row in the per-n table', () => {
    const { header, rows } = perNRows(report, 1024);
    expect(header.slice(0, 8)).to.deep.equal(['contender', 'median ms', 'min', 'max', 'runs', 'cpu ms', 'vs exact', 'vs numpy']);
    expect(rows[0].slice(6, 8)).to.deep.equal(['1×', '0.50×']);
    expect(rows[1].slice(6, 8)).to.deep.equal(['2.00×', '1×']);
  });

  it('should write environment, notes, targets, the plot, and one table per n', () => {
    const md = formatBenchMarkdown(report, 'wasm.svg', 'node cli/dist/cli.js bench');
    expect(md).to.include('# Benchmark: wasm backend on dev');
    expect(md).to.include('- a note');
    expect(md).to.include('## Targets (issue 7)');
    expect(md).to.include('![time vs n](wasm.svg)');
    expect(md).to.include('### n = 1024');
    expect(md).to.include('Not run: **torch-sdpa** — PyTorch with CUDA is not available here');
    expect(md).to.include('| numpy | – | – | – | 0 | – |');
    expect(formatBenchText(report)).to.include('not run: torch-sdpa');
  });

  it('should say other work shared the cores only when the load average is well above the core count', () => {
    const busy = { ...report, environment: { ...report.environment, loadAverage: 3.1 } };
    expect(formatBenchMarkdown(busy, 'wasm.svg', 'bench')).to.include('load average 3.1 at the end of the run (well above the core count: other work shared the cores');
    const own = formatBenchMarkdown({ ...report, environment: { ...report.environment, loadAverage: 2.3 } }, 'wasm.svg', 'bench');
    expect(own).to.include("load average 2.3 at the end of the run (a little above the core count: the run's own threads");
    expect(own).to.not.include('other work shared the cores');
    const quiet = formatBenchMarkdown(report, 'wasm.svg', 'bench'); // load 0.5 on 2 cores
    expect(quiet).to.include('load average 0.5 at the end of the run (not above the core count');
    expect(quiet).to.not.include('other work shared the cores');
  });
});
