import { formatMarkdownTable, formatTable } from '../cli/formatTable';
import type { ChartSpec } from '../plot/svgChart';
import type { BenchCell, BenchReport } from './benchTypes';
import { evaluateTargets } from './evaluateTargets';

const ms = (x: number | null) => (x === null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (x: number | null) => (x === null ? '–' : (x / 2 ** 20).toFixed(x >= 2 ** 24 ? 0 : 1));
const speedup = (ref: number | null, x: number | null) => (ref === null || x === null ? '–' : `${(ref / x).toFixed(ref / x >= 100 ? 0 : 2)}×`);
const err = (x: number | null) => (x === null ? '–' : x.toExponential(1));

/** Columns "vs <X>" are speedups: X's time / this row's time (above 1: this row is faster). */
function referenceNames(report: BenchReport): string[] {
  const present = new Set(report.cells.filter((c) => c.medianMs !== null).map((c) => c.contender));
  return ['exact', ...report.contenders.filter((c) => c.kind === 'peer').map((c) => c.name)].filter((n) => present.has(n));
}

function cellAt(report: BenchReport, name: string, n: number): BenchCell | undefined {
  return report.cells.find((c) => c.contender === name && c.n === n);
}

/** Rows of the per-n table: every contender, times, speedups vs the references, error, memory. */
export function perNRows(report: BenchReport, n: number): { header: string[]; rows: string[][] } {
  const refs = referenceNames(report);
  const header = ['contender', 'median ms', 'min', 'max', 'runs', 'cpu ms', ...refs.map((r) => `vs ${r}`), 'rel. error', 'peak MiB', 'note'];
  const rows = report.contenders.map((c) => {
    const cell = cellAt(report, c.name, n);
    const m = cell?.medianMs ?? null;
    return [
      c.name,
      ms(m),
      ms(cell?.minMs ?? null),
      ms(cell?.maxMs ?? null),
      String(cell?.timesMs.length ?? 0),
      ms(cell?.cpuMedianMs ?? null),
      ...refs.map((r) => (r === c.name ? '1×' : speedup(cellAt(report, r, n)?.medianMs ?? null, m))),
      err(cell?.relativeError ?? null),
      mib(cell?.peakBytes ?? null),
      cell?.note ?? '',
    ];
  });
  return { header, rows };
}

/** The wide table: median ms per contender and n, with the fitted exponent. */
export function overviewRows(report: BenchReport): { header: string[]; rows: string[][] } {
  const header = ['contender', ...report.ns.map((n) => `n=${n}`), 'exponent (fit range)'];
  const rows = report.contenders.map((c) => {
    const fit = report.scaling.find((s) => s.contender === c.name);
    const exponent = fit?.exponent == null ? '–' : `${fit.exponent.toFixed(2)} (${fit.fromN}…${fit.toN}, ${fit.basis})`;
    return [c.name, ...report.ns.map((n) => ms(cellAt(report, c.name, n)?.medianMs ?? null)), exponent];
  });
  return { header, rows };
}

/** The time-vs-n chart: one line per contender, peers dashed. */
export function benchChartSpec(report: BenchReport): ChartSpec {
  const { heads, dim } = report.shape;
  return {
    title: `attention time vs n — ${report.environment.backend} on ${report.environment.device} (h ${heads}, d ${dim}, float32)`,
    xLabel: 'sequence length n',
    yLabel: 'median ms per call',
    xScale: 'log',
    yScale: 'log',
    xTicks: report.ns,
    series: report.contenders.map((c) => ({
      label: c.kind === 'peer' ? `${c.name} (peer)` : c.name,
      dashed: c.kind !== 'operator',
      points: report.cells.filter((x) => x.contender === c.name && x.medianMs !== null).map((x) => ({ x: x.n, y: x.medianMs! })),
    })),
  };
}

/** Plain-text report for the terminal. */
export function formatBenchText(report: BenchReport): string {
  const env = report.environment;
  const lines = [`swapformer bench — backend ${env.backend} on ${env.device}; heads ${report.shape.heads}, head dim ${report.shape.dim}, batch 1, float32, seed ${report.seed}; ${report.wallSeconds.toFixed(0)} s`, ''];
  const o = overviewRows(report);
  lines.push('median ms per call', formatTable(o.header, o.rows), '');
  for (const n of report.ns) {
    const t = perNRows(report, n);
    lines.push(`n = ${n} ("vs X" = X's time / this time)`, formatTable(t.header, t.rows), '');
  }
  const targets = evaluateTargets(report);
  if (targets.length) lines.push('targets', formatTable(['met', 'target', 'measured'], targets.map((t) => [t.met === null ? '?' : t.met ? 'yes' : 'NO', t.target, t.measured])), '');
  for (const u of report.unavailable) lines.push(`not run: ${u.name}: ${u.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What the load average says about the run. The run's own threads count in it (the fused kernel
 * and the peers use every core, Node adds GC and compiler threads), so up to 1.5× the core count
 * is the run itself; above that, other work shared the cores.
 */
function describeLoad(loadAverage: number | undefined, cores: number): string {
  if (loadAverage === undefined || !Number.isFinite(loadAverage)) return '';
  if (loadAverage > 1.5 * cores) return ' (well above the core count: other work shared the cores and slowed every row)';
  if (loadAverage > cores) return " (a little above the core count: the run's own threads — the fused kernel and the peers use every core — not other work)";
  return ' (not above the core count: the cores were not oversubscribed)';
}

/**
 * The committed page docs/benchmarks/<backend>.md: environment, targets with measured ratios,
 * the plot, the overview, one table per n, and where the time goes (profiled warm-up).
 *
 * @example writeFileAtomic('docs/benchmarks/wasm.md', formatBenchMarkdown(report, 'wasm.svg', 'node cli/dist/cli.js bench'));
 */
export function formatBenchMarkdown(report: BenchReport, svgFile: string, command: string): string {
  const env = report.environment;
  const out: string[] = [];
  out.push(`# Benchmark: ${env.backend} backend on ${env.device}`, '');
  out.push(`Generated by \`${command}\` on ${env.date} (${report.wallSeconds.toFixed(0)} s). Do not edit by hand; re-run to refresh.`, '');
  out.push(`- Shapes: batch 1, heads ${report.shape.heads}, head dim ${report.shape.dim}, float32, non-causal, seeded inputs (seed ${report.seed}).`);
  out.push(`- Machine: ${env.cpu}, ${env.cores} cores, ${env.platform}; Node ${env.node}; tfjs-core ${env.tfjs}; 1-minute load average ${env.loadAverage ?? '?'} at the end of the run${describeLoad(env.loadAverage, env.cores)}.`);
  for (const note of env.notes) out.push(`- ${note}`);
  out.push('- Every row was measured in this one run, interleaved: one untimed warm-up each, then the repeats go round-robin over the rows, so a slow spell of the machine hits all rows alike.');
  out.push('- "vs X" columns are speedups: X\'s median time / this row\'s median time (above 1× this row is faster). "cpu ms" is the median CPU time of the same calls, all threads of the process that ran them (above the wall time: threads at work). "rel. error" is ‖out − exact‖_F / ‖exact‖_F against our exact operator at the same n (for exact itself: against numpy). "peak MiB" is the peak memory of the profiled warm-up call: tfjs tensors plus the fused CPU kernel\'s own buffers (peers outside tfjs: –).');
  out.push('');
  out.push('## Contenders', '');
  out.push(formatMarkdownTable(['row', 'kind', 'what runs', 'largest n'], report.contenders.map((c) => [c.name, c.kind, c.detail, String(c.maxN)])));
  for (const u of report.unavailable) out.push('', `Not run: **${u.name}** — ${u.reason}`);
  out.push('');
  const targets = evaluateTargets(report);
  if (targets.length) {
    out.push('## Targets (issue 7)', '', 'Decided on the median wall times of this run; where both rows have CPU times, the same ratio on CPU time is given in parentheses (it shows the ratio without the other load of the machine; our exact kernel uses every thread it is given, so its CPU time is the sum over them).', '');
    out.push(formatMarkdownTable(['met', 'target', 'measured in this run'], targets.map((t) => [t.met === null ? 'not measured' : t.met ? '**yes**' : '**no**', t.target, t.measured])), '');
  }
  out.push('## Time vs n', '', `![time vs n](${svgFile})`, '');
  const o = overviewRows(report);
  out.push('Median wall ms per call; exponent p of time ∝ n^p fitted over the range shown, on median CPU time (all threads of the process; "cpu") where every point has it — points measured minutes apart on a shared machine differ in load, CPU time hardly — else on wall time.', '', formatMarkdownTable(o.header, o.rows), '');
  out.push('## Per sequence length', '');
  for (const n of report.ns) {
    const t = perNRows(report, n);
    out.push(`### n = ${n}`, '', formatMarkdownTable(t.header, t.rows), '');
  }
  const profiled = report.cells.filter((c) => c.kernelMs && Object.keys(c.kernelMs).length > 0);
  if (profiled.length) {
    out.push('## Where the time goes', '', 'tfjs kernels of the profiled warm-up call (ms per kernel name, largest first; a fused kernel that runs outside tfjs shows as its wrapper ops only).', '');
    out.push(formatMarkdownTable(['row', 'n', 'kernels (ms)'], profiled.map((c) => [c.contender, String(c.n), Object.entries(c.kernelMs!).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')])), '');
  }
  return `${out.join('\n')}\n`;
}
