import type { BenchCell, BenchReport } from './benchTypes';

/** One target of issue 7, checked against one report. `met` is null when the run did not measure it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** The approximations the issue names, with their scaling-exponent bound on the CPU. */
export const SCALING_BOUNDS: Readonly<Record<string, number>> = { performer: 1.2, tost: 1.2, kdeformer: 1.2, thinformer: 1.6, levattention: 1.6 };

const ratioText = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;

function cellOf(report: BenchReport, contender: string, n: number): BenchCell | undefined {
  return report.cells.find((c) => c.contender === contender && c.n === n);
}

function msOf(report: BenchReport, contender: string, n: number): number | null {
  return cellOf(report, contender, n)?.medianMs ?? null;
}

/** ", on CPU time r×" when both cells have CPU times: how the ratio reads without the machine's other load. */
function cpuRatio(report: BenchReport, numerator: string, denominator: string, n: number): string {
  const a = cellOf(report, numerator, n)?.cpuMedianMs ?? null;
  const b = cellOf(report, denominator, n)?.cpuMedianMs ?? null;
  return a === null || b === null ? '' : ` (on CPU time ${ratioText(a / b)})`;
}

function approximations(report: BenchReport): string[] {
  return report.contenders.filter((c) => c.kind === 'operator' && c.name !== 'exact').map((c) => c.name);
}

/** "exact is ≥ k× faster than peer at n": speedup = peer / exact. */
function speedupTarget(report: BenchReport, peer: string, n: number, atLeast: number, text: string): TargetCheck {
  const e = msOf(report, 'exact', n);
  const p = msOf(report, peer, n);
  if (e === null || p === null) return { target: text, measured: `not measured at n = ${n} (${e === null ? 'exact' : peer} missing)`, met: null };
  const s = p / e;
  return { target: text, measured: `${peer} ${p.toFixed(0)} ms / exact ${e.toFixed(0)} ms = ${ratioText(s)} faster${cpuRatio(report, peer, 'exact', n)}`, met: s >= atLeast };
}

/** "exact is within k× of peer at n": slowdown = exact / peer. */
function withinTarget(report: BenchReport, peer: string, n: number, within: number, text: string): TargetCheck {
  const e = msOf(report, 'exact', n);
  const p = msOf(report, peer, n);
  if (e === null || p === null) return { target: text, measured: `not measured at n = ${n} (${e === null ? 'exact' : peer} missing)`, met: null };
  const r = e / p;
  return { target: text, measured: r <= 1 ? `exact ${e.toFixed(0)} ms vs ${peer} ${p.toFixed(0)} ms: exact ${ratioText(1 / r)} faster` : `exact ${e.toFixed(0)} ms / ${peer} ${p.toFixed(0)} ms = ${ratioText(r)} slower`, met: r <= within };
}

function approximationSpeedups(report: BenchReport, n: number, atLeast: number): TargetCheck[] {
  const e = msOf(report, 'exact', n);
  return approximations(report).map((name) => {
    const text = `${name} ≥ ${atLeast}× faster than exact at n = ${n}`;
    const a = msOf(report, name, n);
    if (e === null || a === null) return { target: text, measured: `not measured at n = ${n} (${e === null ? 'exact' : name} missing)`, met: null };
    return { target: text, measured: `exact ${e.toFixed(0)} ms / ${name} ${a.toFixed(1)} ms = ${ratioText(e / a)}${cpuRatio(report, 'exact', name, n)}`, met: e / a >= atLeast };
  });
}

/**
 * The performance targets of issue 7 for this report's backend, each with the measured ratio.
 *
 * @example for (const t of evaluateTargets(report)) console.log(t.met, t.target, t.measured);
 */
export function evaluateTargets(report: BenchReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (report.environment.backend === 'webgpu') {
    const big = cellOf(report, 'exact', 65536);
    checks.push({ target: 'exact runs at n = 65536 (chunked, no 2 GiB binding)', measured: big?.medianMs != null ? `${big.medianMs.toFixed(0)} ms` : big ? big.note || 'no time' : 'n = 65536 not in the sweep', met: big ? big.medianMs !== null : null });
    checks.push(...approximationSpeedups(report, 16384, 10));
    const sdpa = msOf(report, 'torch-sdpa', 8192);
    const best = approximations(report)
      .map((name) => ({ name, ms: msOf(report, name, 8192) }))
      .filter((x): x is { name: string; ms: number } => x.ms !== null)
      .sort((a, b) => a.ms - b.ms)[0];
    const text = 'best approximation at n = 8192 within 2× of PyTorch fp32 SDPA (exact)';
    checks.push(sdpa === null || !best ? { target: text, measured: `not measured (${sdpa === null ? 'torch-sdpa' : 'approximations'} missing at n = 8192)`, met: null } : { target: text, measured: `${best.name} ${best.ms.toFixed(2)} ms / torch-sdpa ${sdpa.toFixed(2)} ms = ${ratioText(best.ms / sdpa)}`, met: best.ms / sdpa <= 2 });
    return checks;
  }
  checks.push(speedupTarget(report, 'tfjs-plain', 4096, 5, 'exact ≥ 5× faster than the plain tfjs composition at n = 4096'));
  checks.push(withinTarget(report, 'numpy', 4096, 3, 'exact within 3× of numpy/OpenBLAS at n = 4096'));
  checks.push(withinTarget(report, 'onnxruntime', 4096, 1.5, 'exact ahead of onnxruntime-node or within 1.5× of it at n = 4096'));
  checks.push(...approximationSpeedups(report, 16384, 10));
  for (const name of approximations(report)) {
    const bound = SCALING_BOUNDS[name];
    if (bound === undefined) continue;
    const fit = report.scaling.find((s) => s.contender === name);
    const text = `${name}: scaling exponent ≤ ${bound}`;
    checks.push(fit?.exponent == null ? { target: text, measured: 'too few points', met: null } : { target: text, measured: `${fit.exponent.toFixed(2)} (n ${fit.fromN}…${fit.toN}, ${fit.basis} time)`, met: fit.exponent <= bound });
  }
  return checks;
}
