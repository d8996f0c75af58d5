import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { BenchEnvironment, Contender, PreparedRun } from '../../src/bench/benchTypes';
import { MAX_PIPELINED_CALLS, PIPELINE_BELOW_MS, PIPELINE_WINDOW_MS, pipelinedCalls, tfjsRunner } from '../../src/bench/contenders/forceResult';
import { runBenchmark, type BenchOptions } from '../../src/bench/runBenchmark';

const environmentFixture: BenchEnvironment = { backend: 'wasm', device: 'test CPU', cpu: 'test CPU', cores: 2, node: 'v20', tfjs: '4.22.0', platform: 'linux x64', date: '2026-01-01', notes: [], loadAverage: 0.5 };
const optionsFixture: BenchOptions = { ns: [16, 32, 64], heads: 2, dim: 4, seed: 1, repeats: 3, cellBudgetMs: 60_000, profile: false, fitFromN: 1 };

/** A contender whose "times" follow c·n^p and whose output is a known array. */
function fakeContender(name: string, settings: { p?: number; cpuP?: number; maxN?: number; failAt?: number; output?: (n: number, heads: number, dim: number) => Float32Array; log?: string[]; kind?: 'operator' | 'peer' }): Contender {
  return {
    name,
    kind: settings.kind ?? 'operator',
    detail: 'fake',
    approximatesSoftmax: true,
    maxN: settings.maxN ?? Infinity,
    async prepare(inputs) {
      if (inputs.n === settings.failAt) throw new Error(`out of memory at ${inputs.n}`);
      let call = 0;
      const run: PreparedRun = {
        async run() {
          settings.log?.push(`${name}@${inputs.n}`);
          call++;
          const ms = 1e-3 * inputs.n ** (settings.p ?? 1) * (1 + call / 100); // distinct times per cell
          return { ms, cpuMs: settings.cpuP === undefined ? undefined : 1e-3 * inputs.n ** settings.cpuP };
        },
        output: async () => settings.output?.(inputs.n, inputs.heads, inputs.dim) ?? null,
        dispose: () => undefined,
      };
      return run;
    },
    dispose: () => undefined,
  };
}

describe('runBenchmark', () => {
  describe('having fake contenders with known times', () => {
    it('should report median, min and max of the timed repeats (the warm-up excluded) and fit the exponent', async () => {
      const report = await runBenchmark([fakeContender('exact', { p: 2 }), fakeContender('linear', { p: 1 })], optionsFixture, environmentFixture);
      const cell = report.cells.find((c) => c.contender === 'exact' && c.n === 32)!;
      const base = 1e-3 * 32 ** 2;
      // call 1 is the warm-up; calls 2..4 are timed
      expect(cell.timesMs).to.deep.equal([base * 1.02, base * 1.03, base * 1.04]);
      expect(cell.medianMs).to.equal(base * 1.03);
      expect(cell.minMs).to.equal(base * 1.02);
      expect(cell.maxMs).to.equal(base * 1.04);
      expect(report.scaling.find((s) => s.contender === 'exact')!.exponent).to.be.closeTo(2, 1e-9);
      expect(report.scaling.find((s) => s.contender === 'linear')!.exponent).to.be.closeTo(1, 1e-9);
      expect(report.scaling.find((s) => s.contender === 'exact')!.basis).to.equal('wall');
    });

    it('should fit the exponent on CPU time where every point has it', async () => {
      const report = await runBenchmark([fakeContender('threaded', { p: 2, cpuP: 1.5 })], optionsFixture, environmentFixture);
      const fit = report.scaling[0];
      expect(fit.basis).to.equal('cpu');
      expect(fit.exponent).to.be.closeTo(1.5, 1e-9);
      expect(report.cells[0].cpuMedianMs).to.be.closeTo(1e-3 * 16 ** 1.5, 1e-12);
    });

    it('should interleave the repeats round-robin over the contenders', async () => {
      const log: string[] = [];
      await runBenchmark([fakeContender('a', { log }), fakeContender('b', { log })], { ...optionsFixture, ns: [16] }, environmentFixture);
      expect(log).to.deep.equal(['a@16', 'b@16', 'a@16', 'b@16', 'a@16', 'b@16', 'a@16', 'b@16']);
    });

    it('should skip points above maxN and stop a contender after it fails, with the reason', async () => {
      const report = await runBenchmark([fakeContender('small', { maxN: 16 }), fakeContender('oom', { failAt: 32 })], optionsFixture, environmentFixture);
      const note = (name: string, n: number) => report.cells.find((c) => c.contender === name && c.n === n)!.note;
      expect(note('small', 32)).to.equal('not run above n = 16');
      expect(note('oom', 32)).to.equal('failed: out of memory at 32');
      expect(note('oom', 64)).to.equal('failed at n = 32');
      expect(report.cells.find((c) => c.contender === 'oom' && c.n === 16)!.medianMs).to.be.a('number');
    });

    it('should give fewer repeats where the warm-up says they would exceed the cell budget', async () => {
      const slow: Contender = { ...fakeContender('slow', {}), async prepare() { return { run: async () => { const t = performance.now(); while (performance.now() - t < 30); return { ms: 30 }; }, output: async () => null, dispose: () => undefined }; } };
      const report = await runBenchmark([slow], { ...optionsFixture, ns: [16], cellBudgetMs: 40 }, environmentFixture);
      expect(report.cells[0].timesMs).to.have.length(1);
      const floor = await runBenchmark([slow], { ...optionsFixture, ns: [16], cellBudgetMs: 40, minRepeats: 2 }, environmentFixture);
      expect(floor.cells[0].timesMs).to.have.length(2);
    });

    it('should compute the error against exact, and exact\'s against numpy', async () => {
      const exactOut = (n: number, h: number, d: number) => Float32Array.from({ length: n * h * d }, (_, i) => 1 + (i % 3));
      const report = await runBenchmark(
        [
          fakeContender('exact', { output: exactOut }),
          fakeContender('approx', { output: (n, h, d) => exactOut(n, h, d).map((x) => x * 1.1) }),
          fakeContender('numpy', { kind: 'peer', output: (n, h, d) => exactOut(n, h, d).map((x) => x * 0.5) }),
        ],
        { ...optionsFixture, ns: [16] },
        environmentFixture,
      );
      const err = (name: string) => report.cells.find((c) => c.contender === name)!.relativeError!;
      expect(err('approx')).to.be.closeTo(0.1, 1e-6);
      expect(err('exact')).to.be.closeTo(1, 1e-6);
      expect(err('numpy')).to.be.closeTo(0.5, 1e-6);
    });

    it('should hand the partial report to onPoint after each n', async () => {
      const seen: number[][] = [];
      await runBenchmark([fakeContender('a', {})], { ...optionsFixture, onPoint: (r) => seen.push([...r.ns]) }, environmentFixture);
      expect(seen).to.deep.equal([[16], [16, 32], [16, 32, 64]]);
    });
  });

  describe('pipelinedCalls', () => {
    it('should time calls alone on the CPU backends and long calls alone on webgpu', () => {
      expect(pipelinedCalls(0.5, 'wasm')).to.equal(1);
      expect(pipelinedCalls(0.5, 'cpu')).to.equal(1);
      expect(pipelinedCalls(PIPELINE_BELOW_MS, 'webgpu')).to.equal(1);
    });

    it('should queue enough short webgpu calls to fill the window, at most MAX_PIPELINED_CALLS', () => {
      expect(pipelinedCalls(2.5, 'webgpu')).to.equal(Math.ceil(PIPELINE_WINDOW_MS / 2.5));
      expect(pipelinedCalls(PIPELINE_BELOW_MS * 0.9, 'webgpu')).to.equal(Math.ceil(PIPELINE_WINDOW_MS / (PIPELINE_BELOW_MS * 0.9)));
      expect(pipelinedCalls(0, 'webgpu')).to.equal(MAX_PIPELINED_CALLS);
    });
  });

  describe('tfjsRunner', () => {
    it('should time until the output is computed and keep the last output', async () => {
      const runner = tfjsRunner(() => {
        const t0 = performance.now();
        while (performance.now() - t0 < 25);
        return tf.tidy(() => tf.add(tf.ones([2, 2]), 0)); // peak bytes are sampled after each kernel
      });
      const { ms, cpuMs } = await runner.run();
      expect(ms).to.be.at.least(25);
      expect(cpuMs).to.be.a('number').and.to.be.above(0);
      expect(Array.from((await runner.output())!)).to.deep.equal([1, 1, 1, 1]);
      const before = tf.memory().numTensors;
      const profiled = await runner.profile();
      expect(profiled.peakBytes).to.be.at.least(16);
      runner.dispose();
      expect(tf.memory().numTensors).to.equal(before - 1);
    });
  });
});
