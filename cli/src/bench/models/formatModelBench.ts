/** The model-bench report as Markdown (docs/benchmarks/models-<backend>.md) and issue 19's targets read off it. */
import type { ForwardRow, GemmRow, ModelBenchReport, ModelContender, ModelTarget, ModelTiming } from './modelBenchTypes';

const CONTENDERS: readonly ModelContender[] = ['tfjs', 'swapformer', 'numpy'];
const LABEL: Record<ModelContender, string> = { tfjs: 'tfjs-wasm matMul', swapformer: 'Swapformer GEMM', numpy: 'numpy' };

const seconds = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
const ms = (t?: ModelTiming) => (t ? seconds(t.ms) : '—');
/** Wall time and, under load more telling, the CPU time it took. */
const wallAndCpu = (t?: ModelTiming) => (t ? `${seconds(t.ms)}${t.cpuMs != null ? ` (CPU ${seconds(t.cpuMs)})` : ''}` : '—');
const cpu = (t?: ModelTiming) => (t?.cpuMs != null && t.ms > 0 ? `${Math.round((100 * t.cpuMs) / t.ms)} %` : '—');
const gflops = (flops: number, t?: ModelTiming) => (t ? (flops / t.ms / 1e6).toFixed(1) : '—');
const ratio = (a?: ModelTiming, b?: ModelTiming) => (a && b ? `${(a.ms / b.ms).toFixed(2)}×` : '—');

/** Issue 19's targets that these tables measure; the others are listed as not measured here. */
export function modelTargets(gemm: readonly GemmRow[], forward: readonly ForwardRow[]): ModelTarget[] {
  const gpt = forward.find((r) => r.name.startsWith('GPT-2'));
  const head = gemm.find((r) => r.name.startsWith('LM head'));
  const within = (target: string, row: { timings: Partial<Record<ModelContender, ModelTiming>> } | undefined, limit: number): ModelTarget => {
    const ours = row?.timings.swapformer;
    const peer = row?.timings.numpy;
    if (!ours || !peer) return { target, measured: 'not measured (numpy missing)', met: null };
    const r = ours.ms / peer.ms;
    return { target, measured: `Swapformer ${ms(ours)} vs numpy ${ms(peer)}: ${r.toFixed(2)}× numpy's time (tfjs-wasm: ${ratio(row!.timings.tfjs, peer)})`, met: r <= limit };
  };
  return [
    within('GPT-2 small, 1,024 tokens, batch 1: no slower than numpy', gpt, 1),
    within('LM-head product (1024 × 768 × 50257): within 1.5× of numpy', head, 1.5),
    { target: 'Generation tokens/s ≥ onnxruntime-node (or within 1.5×)', measured: 'not measured by these tables yet', met: null },
    { target: 'ViT-base 224, batch 8: within 1.5× of onnxruntime-node', measured: 'not measured by these tables yet', met: null },
    { target: 'Llama-shaped decoder, n = 8,192: best drop-in operator ≥ 2× exact end-to-end', measured: 'not measured (needs the Llama-shaped model)', met: null },
  ];
}

export function formatModelBenchMarkdown(report: ModelBenchReport, command: string): string {
  const e = report.environment;
  const lines: string[] = [];
  lines.push(`# Model-level speed on ${e.backend} (issue 19)`, '');
  lines.push('Wall times, with the CPU time of all the threads of the process that ran each in parentheses: on a shared machine the CPU time says what a contender costs, the wall time what one waits.', '');
  lines.push(`Measured by \`${command}\` on ${e.date}: ${e.cpu}, ${e.cores} cores, Node ${e.node}, ${e.numpy}; our GEMM on ${e.threads} thread(s), numpy's OpenBLAS on the same number. Load average at the start: ${e.loadAverage.map((x) => x.toFixed(2)).join(', ')} — the machine is shared, so times are noisy; ratios come from one run.`, '');
  lines.push('## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? '—' : t.met ? 'yes' : 'no'} |`);
  lines.push('', '## Whole model', '', `| model | tokens | batch | ${CONTENDERS.map((c) => LABEL[c]).join(' | ')} | Swapformer / numpy | Swapformer CPU use | logits vs numpy (max rel. Δ) |`, `|---|---|---|${CONTENDERS.map(() => '---|').join('')}---|---|---|`);
  for (const r of report.forward) {
    const agree = (['tfjs', 'swapformer'] as const).map((c) => (r.agreement[c] === undefined ? '' : `${c} ${r.agreement[c]!.toExponential(1)}`)).filter(Boolean).join(', ') || '—';
    lines.push(`| ${r.name} | ${r.tokens} | ${r.batch} | ${CONTENDERS.map((c) => wallAndCpu(r.timings[c])).join(' | ')} | ${ratio(r.timings.swapformer, r.timings.numpy)} | ${cpu(r.timings.swapformer)} | ${agree} |`);
  }
  lines.push('', '## Matrix products of that forward (GFLOP/s)', '', `| product | shape | ${CONTENDERS.map((c) => LABEL[c]).join(' | ')} | Swapformer / tfjs time | Swapformer / numpy time | Swapformer CPU use |`, `|---|---|${CONTENDERS.map(() => '---|').join('')}---|---|---|`);
  for (const r of report.gemm) {
    lines.push(`| ${r.name} | ${r.shape} | ${CONTENDERS.map((c) => `${gflops(r.flops, r.timings[c])} (${ms(r.timings[c])})`).join(' | ')} | ${ratio(r.timings.swapformer, r.timings.tfjs)} | ${ratio(r.timings.swapformer, r.timings.numpy)} | ${cpu(r.timings.swapformer)} |`);
  }
  lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
