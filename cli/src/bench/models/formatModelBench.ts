/** The model-bench report as Markdown (docs/benchmarks/models-<backend>.md) and issue 19's targets read off it. */
import { crossoverRule, isPeerRow, type CrossoverRow } from './llamaCrossover';
import type { ForwardRow, GemmRow, GenerationRow, ModelBenchReport, ModelContender, ModelTarget, ModelTiming } from './modelBenchTypes';

const CONTENDERS: readonly ModelContender[] = ['tfjs', 'swapformer', 'numpy'];
const FORWARD_CONTENDERS: readonly ModelContender[] = ['tfjs', 'swapformer', 'numpy', 'onnxruntime', 'torch-eager', 'torch-sdpa'];
const LABEL: Record<ModelContender, string> = { tfjs: 'tfjs-wasm matMul', swapformer: 'Swapformer GEMM', numpy: 'numpy', onnxruntime: 'onnxruntime-node', 'torch-eager': 'PyTorch fp32 eager', 'torch-sdpa': 'PyTorch fp32 SDPA' };

const seconds = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
const ms = (t?: ModelTiming) => (t ? seconds(t.ms) : '—');
/** Wall time and, under load more telling, the CPU time it took. */
const wallAndCpu = (t?: ModelTiming) => (t ? `${seconds(t.ms)}${t.cpuMs != null ? ` (CPU ${seconds(t.cpuMs)})` : ''}` : '—');
const cpu = (t?: ModelTiming) => (t?.cpuMs != null && t.ms > 0 ? `${Math.round((100 * t.cpuMs) / t.ms)} %` : '—');
const gflops = (flops: number, t?: ModelTiming) => (t ? (flops / t.ms / 1e6).toFixed(1) : '—');
/** The same ratio on CPU time (all threads), steadier than wall time on a shared machine. */
const cpuRatio = (a: ModelTiming, b: ModelTiming) => (a.cpuMs && b.cpuMs ? `; CPU time ${(a.cpuMs / b.cpuMs).toFixed(2)}×` : '');
const ratio = (a?: ModelTiming, b?: ModelTiming) => (a && b ? `${(a.ms / b.ms).toFixed(2)}×` : '—');

/** Issue 19's targets that these tables measure; the others are listed as not measured here. */
export function modelTargets(gemm: readonly GemmRow[], forward: readonly ForwardRow[], generation: readonly GenerationRow[] = [], crossover: readonly CrossoverRow[] = []): ModelTarget[] {
  const gpt = forward.find((r) => r.name.startsWith('GPT-2'));
  const vit = forward.find((r) => r.name.startsWith('ViT'));
  const gen = generation[0];
  const head = gemm.find((r) => r.name.startsWith('LM head'));
  const within = (target: string, row: { timings: Partial<Record<ModelContender, ModelTiming>> } | undefined, limit: number): ModelTarget => {
    const ours = row?.timings.swapformer;
    const peer = row?.timings.numpy;
    if (!ours || !peer) return { target, measured: 'not measured (numpy missing)', met: null };
    const r = ours.ms / peer.ms;
    return { target, measured: `Swapformer ${ms(ours)} vs numpy ${ms(peer)}: ${r.toFixed(2)}× numpy's time${cpuRatio(ours, peer)} (tfjs-wasm: ${ratio(row!.timings.tfjs, peer)})`, met: r <= limit };
  };
  return [
    within('GPT-2 small, 1,024 tokens, batch 1: no slower than numpy', gpt, 1),
    within('LM-head product (1024 × 768 × 50257): within 1.5× of numpy', head, 1.5),
    versusOrt('Generation tokens/s ≥ onnxruntime-node (or within 1.5×)', gen?.timings, 1.5, gen ? `${(gen.newTokens / (gen.timings.swapformer?.ms ?? NaN) * 1000).toFixed(1)} vs ${(gen.newTokens / (gen.timings.onnxruntime?.ms ?? NaN) * 1000).toFixed(1)} tokens/s; ` : ''),
    versusOrt(`ViT-base 224, batch ${vit?.batch ?? 8}: within 1.5× of onnxruntime-node`, vit?.timings, 1.5, ''),
    bestAt8192(crossover),
  ];
}

function versusOrt(target: string, timings: Partial<Record<ModelContender, ModelTiming>> | undefined, limit: number, prefix: string): ModelTarget {
  const ours = timings?.swapformer;
  const peer = timings?.onnxruntime;
  if (!ours || !peer) return { target, measured: 'not measured (onnxruntime-node or the row missing)', met: null };
  const r = ours.ms / peer.ms;
  return { target, measured: `${prefix}Swapformer ${ms(ours)} vs onnxruntime ${ms(peer)}: ${r.toFixed(2)}× onnxruntime's time${cpuRatio(ours, peer)}`, met: r <= limit };
}

function bestAt8192(rows: readonly CrossoverRow[]): ModelTarget {
  const target = 'Llama-shaped decoder, n = 8,192: best drop-in operator ≥ 2× exact end-to-end';
  const at = (r: CrossoverRow) => r.cells.find((c) => c.n === 8192)?.timing;
  const exact = rows.find((r) => r.operator === 'exact');
  const others = rows.filter((r) => r.operator !== 'exact' && !isPeerRow(r) && at(r));
  if (!exact || others.length === 0) return { target, measured: 'not measured at n = 8,192', met: null };
  const best = others.reduce((a, b) => (at(a)!.ms <= at(b)!.ms ? a : b));
  const e = at(exact);
  if (!e) return { target, measured: `exact not run at 8,192 (${exact.cells.find((c) => c.n === 8192)?.skipped ?? 'absent'}); best operator ${best.operator} ${ms(at(best))}`, met: null };
  const r = e.ms / at(best)!.ms;
  return { target, measured: `${best.operator} ${ms(at(best))} vs exact ${ms(e)}: ${r.toFixed(2)}× faster${e.cpuMs && at(best)!.cpuMs ? ` (CPU time ${(e.cpuMs / at(best)!.cpuMs!).toFixed(2)}×)` : ''}`, met: r >= 2 };
}

export function formatModelBenchMarkdown(report: ModelBenchReport, command: string): string {
  const e = report.environment;
  const lines: string[] = [];
  lines.push(`# Model-level speed on ${e.backend} (issue 19)`, '');
  lines.push('Wall times, with the CPU time of all the threads of the process that ran each in parentheses: on a shared machine the CPU time says what a contender costs, the wall time what one waits.', '');
  if (e.backend === 'webgpu') lines.push(`Measured by \`${command}\` on ${e.date}: ${e.cpu}, Node ${e.node}, ${e.numpy}. Ratios come from one run.`, '');
  else lines.push(`Measured by \`${command}\` on ${e.date}: ${e.cpu}, ${e.cores} cores, Node ${e.node}, ${e.numpy}; our GEMM on ${e.threads} thread(s), numpy's OpenBLAS on the same number. Load average at the start: ${e.loadAverage.map((x) => x.toFixed(2)).join(', ')} — the machine is shared, so times are noisy; ratios come from one run.`, '');
  lines.push('## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? '—' : t.met ? 'yes' : 'no'} |`);
  const present = FORWARD_CONTENDERS.filter((c) => report.forward.some((r) => r.timings[c]));
  const peers = present.filter((c) => c !== 'tfjs' && c !== 'swapformer');
  if (report.forward.length > 0) lines.push('', '## Whole model', '', `| model | tokens | batch | ${present.map((c) => LABEL[c]).join(' | ')} | ${peers.map((c) => `Swapformer / ${LABEL[c]}`).join(' | ')} | Swapformer CPU use | logits vs ${LABEL[report.forward[0]?.reference ?? 'numpy']} (max rel. Δ) |`, `|---|---|---|${present.map(() => '---|').join('')}${peers.map(() => '---|').join('')}---|---|`);
  for (const r of report.forward) {
    const agree = FORWARD_CONTENDERS.map((c) => (r.agreement[c] === undefined ? '' : `${c} ${r.agreement[c]!.toExponential(1)}`)).filter(Boolean).join(', ') || '—';
    lines.push(`| ${r.name} | ${r.tokens} | ${r.batch} | ${present.map((c) => wallAndCpu(r.timings[c])).join(' | ')} | ${peers.map((c) => ratio(r.timings.swapformer, r.timings[c])).join(' | ')} | ${cpu(r.timings.swapformer)} | ${agree} |`);
  }
  if (report.generation.length > 0) {
    lines.push('', '## Generation (greedy, batch 1)', '', '| model | prompt | new tokens | Swapformer (kv-cache) | onnxruntime-node (past key/values graph) | Swapformer / onnxruntime time | first logits, max rel. Δ | greedy tokens equal |', '|---|---|---|---|---|---|---|---|');
    for (const g of report.generation) {
      const rate = (t?: ModelTiming) => (t ? `${((1000 * g.newTokens) / t.ms).toFixed(1)} tokens/s (${wallAndCpu(t)})` : '—');
      lines.push(`| ${g.name} | ${g.promptTokens} | ${g.newTokens} | ${rate(g.timings.swapformer)} | ${rate(g.timings.onnxruntime)} | ${ratio(g.timings.swapformer, g.timings.onnxruntime)} | ${g.firstLogitsDifference?.toExponential(1) ?? '—'} | ${g.tokensAgree === undefined ? '—' : `${g.tokensAgree} of ${g.newTokens}`} |`);
    }
  }
  if (report.crossover.length > 0) lines.push('', ...formatCrossover(report.crossover, report.environment.backend));
  if (report.gemm.length > 0) lines.push('', '## Matrix products of that forward (GFLOP/s)', '', `| product | shape | ${CONTENDERS.map((c) => LABEL[c]).join(' | ')} | Swapformer / tfjs time | Swapformer / numpy time | Swapformer CPU use |`, `|---|---|${CONTENDERS.map(() => '---|').join('')}---|---|---|`);
  for (const r of report.gemm) {
    lines.push(`| ${r.name} | ${r.shape} | ${CONTENDERS.map((c) => `${gflops(r.flops, r.timings[c])} (${ms(r.timings[c])})`).join(' | ')} | ${ratio(r.timings.swapformer, r.timings.tfjs)} | ${ratio(r.timings.swapformer, r.timings.numpy)} | ${cpu(r.timings.swapformer)} |`);
  }
  lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** The crossover table (seconds per forward, batch 1) and one rule per operator. */
export function formatCrossover(rows: readonly CrossoverRow[], backend: string): string[] {
  const ns = [...new Set(rows.flatMap((r) => r.cells.map((c) => c.n)))].sort((a, b) => a - b);
  const exact = rows.find((r) => r.operator === 'exact');
  const lines = [`## Where swapping pays off: Llama-shaped decoder on ${backend}`, '', 'Hidden 512, 8 query heads and 2 key/value heads of 64, 4 layers, SwiGLU 1,536, vocabulary 8,192, no LM head (LlamaModel); random weights; every layer runs the operator named (its causal form); one forward at batch 1 per cell after a warm-up. Speed-ups are exact\'s wall time over the operator\'s (in parentheses: over CPU time, which a shared machine disturbs less); the rules interpolate the wall-time ratio. Plot: [models-crossover-' + backend + '.svg](models-crossover-' + backend + '.svg).', ''];
  lines.push(`| operator | ${ns.map((n) => `n = ${n.toLocaleString('en-US')}`).join(' | ')} |`, `|---|${ns.map(() => '---|').join('')}`);
  for (const r of rows) {
    if (r.refused) {
      lines.push(`| ${r.operator} | refused: ${r.refused} |${ns.slice(1).map(() => ' |').join('')}`);
      continue;
    }
    const cell = (n: number) => {
      const c = r.cells.find((x) => x.n === n);
      if (!c) return '—';
      if (!c.timing) return `skipped: ${c.skipped}`;
      const e = exact?.cells.find((x) => x.n === n)?.timing;
      const cpuRatio = e?.cpuMs && c.timing.cpuMs ? ` (CPU ${(e.cpuMs / c.timing.cpuMs).toFixed(2)}×)` : '';
      return `${wallAndCpu(c.timing)}${e && r !== exact ? `, ${(e.ms / c.timing.ms).toFixed(2)}× exact's speed${cpuRatio}` : ''}`;
    };
    lines.push(`| ${r.operator} | ${ns.map(cell).join(' | ')} |`);
  }
  if (exact) lines.push('', ...rows.filter((r) => r !== exact && !isPeerRow(r)).map((r) => `- ${crossoverRule(r, exact)}.`));
  return lines;
}
