/**
 * Time split of one Thinformer forward on the current backend (default wasm): bucket Gram
 * matrices (packing + the SIMD Gram kernel, or tfjs matMuls with --gram tfjs), the self-balancing
 * walk, and the final softmax attention against the coreset; optionally exact attention for the
 * speed-up.
 *
 *   npx tsx plugins/thinformer/scripts/benchThinformer.ts [--n 3136,16384] [--heads 4] [--d 64] [--g 2] [--reps 3] [--gram wasm|tfjs] [--exact]
 *
 * Prints one JSON line per size (best of --reps runs, wall-clock milliseconds, plus the process
 * CPU time of that run, which a loaded machine inflates less), then the log–log slope of the total
 * time against n when several sizes are given.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { thinformerAttention } from '../src/thinformer';
import type { CoresetTimings } from '../src/thinformerCoreset';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backend = await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as Parameters<typeof useBackend>[0]);
  const sizes = arg('n', '3136,16384').split(',').map(Number);
  const heads = Number(arg('heads', '4'));
  const d = Number(arg('d', '64'));
  const g = Number(arg('g', '2'));
  const reps = Number(arg('reps', '3'));
  const withExact = process.argv.includes('--exact');
  const gramKernel = arg('gram', 'wasm') as 'wasm' | 'tfjs';
  const totals: Array<[number, number]> = [];
  for (const n of sizes) {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads, nq: n, nk: n, dk: d }, 1, 0.5);
    let best: (CoresetTimings & { attentionMs: number; totalMs: number; cpuMs: number }) | null = null;
    // one untimed warm-up run: JIT, wasm heap growth, xnnpack operator caches
    tf.tidy(() => thinformerAttention(q, k, v, { g, delta: 0.5, seed: 99, gramKernel }).dataSync());
    for (let r = 0; r < reps; r++) {
      const timings: CoresetTimings = { kernelMs: 0, walkMs: 0 };
      const cpu = process.cpuUsage();
      const start = performance.now();
      const out = thinformerAttention(q, k, v, { g, delta: 0.5, seed: r, gramKernel }, timings);
      out.dataSync();
      const totalMs = performance.now() - start;
      const used = process.cpuUsage(cpu);
      out.dispose();
      const run = { ...timings, attentionMs: totalMs - timings.kernelMs - timings.walkMs, totalMs, cpuMs: (used.user + used.system) / 1000 };
      if (best === null || run.totalMs < best.totalMs) best = run;
    }
    let exactMs: number | undefined;
    if (withExact) {
      const start = performance.now();
      const out = softmaxAttention(q, k, v);
      out.dataSync();
      exactMs = performance.now() - start;
      out.dispose();
    }
    const round = (x: number) => Math.round(x * 10) / 10;
    console.log(JSON.stringify({
      backend: backend.active, n, heads, d, g,
      kernelMs: round(best!.kernelMs), walkMs: round(best!.walkMs), attentionMs: round(best!.attentionMs), totalMs: round(best!.totalMs), cpuMs: round(best!.cpuMs),
      ...(exactMs === undefined ? {} : { exactMs: round(exactMs), speedup: round(exactMs / best!.totalMs) }),
    }));
    totals.push([n, best!.totalMs]);
    tf.dispose([q, k, v]);
  }
  if (totals.length > 1) {
    // least-squares slope of log(time) against log(n)
    const xs = totals.map(([n]) => Math.log(n));
    const ys = totals.map(([, t]) => Math.log(t));
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    console.log(JSON.stringify({ scalingExponent: Math.round(slope * 100) / 100, sizes }));
  }
}

void main();
