/** The drop-in report as terminal tables and as the markdown of docs/results/dropin.md. */
import * as os from 'node:os';
import { formatMarkdownTable, formatTable } from '../cli/formatTable';
import type { DropInReport } from './runDropIn';
import { summarizeRows, type TableRow } from './measureRows';

type Cells = { header: string[]; rows: string[][]; skipped: string[]; notes: string[]; samples: Array<[string, string]> };

/** Per row: the swapped layers' lengths and budgets, then any warning about them. */
function layerNotes(rows: readonly TableRow[]): string[] {
  return rows.flatMap((r) => [
    ...(r.layers?.length ? [`layers of ${r.label}: ${r.layers.map((l) => `${l.layer} (${l.operator}, n = ${l.n}${l.keysPerQuery === undefined ? '' : `, ${l.keysPerQuery} keys/query`})`).join('; ')}`] : []),
    ...(r.warnings ?? []).map((w) => `warning: ${r.label}: ${w}`),
  ]);
}

const pm = (mean: number, std: number, digits: number, randomized: boolean) => (randomized ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}` : mean.toFixed(digits));
const signed = (x: number | null, digits: number) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function vitCells(rows: readonly TableRow[]): Cells {
  const summary = summarizeRows(rows, true);
  return {
    header: ['operator', 'source', 'top-1 acc. (%)', 'Δ vs exact (pp)', 'attention ms/img', 'end-to-end ms/img', 'attention speedup'],
    rows: summary.map((r) => [r.label, r.source === 'trained' ? 'trained with it' : r.source === 'adapted' ? 'adapted' : `drop-in${r.randomized ? ` (${r.measurements.length} seeds)` : ''}`, pm(100 * r.metric.mean, 100 * r.metric.std, 2, r.randomized), signed(r.delta === null ? null : 100 * r.delta, 2), ms(r.attentionMs), ms(r.endToEndMs), r.speedup === null ? '–' : `${r.speedup.toFixed(2)}×`]),
    skipped: rows.filter((r) => r.skipped).map((r) => `${r.label}: ${r.skipped}`),
    notes: layerNotes(rows),
    samples: [],
  };
}

function gptCells(rows: readonly TableRow[]): Cells {
  const summary = summarizeRows(rows, false);
  return {
    header: ['operator', 'source', 'bits/char', 'Δ vs exact', 'attention ms/window', 'end-to-end ms/window', 'attention speedup'],
    rows: summary.map((r) => [r.label, r.source === 'trained' ? 'trained with it' : r.source === 'adapted' ? 'adapted' : `drop-in${r.randomized ? ` (${r.measurements.length} seeds)` : ''}`, pm(r.metric.mean, r.metric.std, 3, r.randomized), signed(r.delta, 3), ms(r.attentionMs), ms(r.endToEndMs), r.speedup === null ? '–' : `${r.speedup.toFixed(2)}×`]),
    skipped: rows.filter((r) => r.skipped).map((r) => `${r.label}: ${r.skipped}`),
    notes: layerNotes(rows),
    samples: summary.filter((r) => r.sample !== undefined).map((r) => [r.label, r.sample!]),
  };
}

/** One line naming the machine the numbers come from. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} (${cpus.length} logical cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}, Node ${process.version}`;
}

/** The report for the terminal. */
export function formatDropInText(report: DropInReport): string {
  const parts: string[] = [];
  if (report.vit) {
    const c = vitCells(report.vit.rows);
    parts.push(`ViT drop-in table — ${report.vit.dataset}, backend ${report.backend}`, '', formatTable(c.header, c.rows), ...c.skipped.map((s) => `  skipped: ${s}`), ...c.notes.map((s) => `  ${s}`), '');
  }
  if (report.gpt) {
    const c = gptCells(report.gpt.rows);
    parts.push(`GPT table — held-out State of the Union text, ${report.gpt.windows} windows of ${report.gpt.contextLength} characters, backend ${report.backend}`, '', formatTable(c.header, c.rows), ...c.skipped.map((s) => `  skipped: ${s}`), ...c.notes.map((s) => `  ${s}`), '');
    if (c.samples.length) {
      parts.push(`Samples (prompt: ${JSON.stringify(report.gpt.prompt)})`);
      for (const [label, text] of c.samples) parts.push(`  ${label}: ${JSON.stringify(text)}`);
      parts.push('');
    }
  }
  return parts.join('\n');
}

/** The markdown of docs/results/dropin.md (`svgName`: the chart's file name beside it). */
export function formatDropInMarkdown(report: DropInReport, svgName: string | null, command: string): string {
  const lines = ['# Drop-in attention operators on trained ViT and char-GPT checkpoints', '', `Written by \`${command}\`. Backend **${report.backend}**; machine: ${machineLine()}; seeds of randomized operators: ${report.seeds.join(', ')}; total run time ${(report.elapsedMs / 1000).toFixed(0)} s.`, ''];
  if (report.vit) {
    const c = vitCells(report.vit.rows);
    lines.push('## ViT on Fashion-MNIST', '', `Data: ${report.vit.dataset}. Drop-in rows swap the operator into layers ${JSON.stringify(report.vit.swapLayers)} of the exact-trained checkpoint (trained rows run as saved); "attention ms/img" is the time spent in those layers' attention calls per image, timed by the core profiler.`, '', formatMarkdownTable(c.header, c.rows), '');
    if (c.skipped.length) lines.push(...c.skipped.map((s) => `- skipped: ${s}`), '');
    if (c.notes.length) lines.push(...c.notes.map((s) => `- ${s}`), '');
    if (svgName) lines.push(`![accuracy vs attention time](${svgName})`, '');
  }
  if (report.gpt) {
    const c = gptCells(report.gpt.rows);
    lines.push('## Char-GPT on State of the Union addresses', '', `Held-out text: ${report.gpt.windows} windows of ${report.gpt.contextLength} characters from ${report.gpt.text}. Drop-in rows swap the operator into every layer of the exact-trained checkpoint (only causal-capable operators).`, '', formatMarkdownTable(c.header, c.rows), '');
    if (c.skipped.length) lines.push(...c.skipped.map((s) => `- skipped: ${s}`), '');
    if (c.notes.length) lines.push(...c.notes.map((s) => `- ${s}`), '');
    if (c.samples.length) {
      lines.push(`Samples (seed ${report.seeds[0]}), prompt: \`${report.gpt.prompt.replace(/`/g, "'")}\``, '');
      for (const [label, text] of c.samples) lines.push(`- **${label}**: \`${text.replace(/`/g, "'").replace(/\n/g, ' ')}\``);
      lines.push('');
    }
  }
  lines.push('## Columns', '', '- **top-1 acc.** / **bits/char**: mean ± sample standard deviation over the seeds for randomized operators (one run otherwise).', '- **Δ vs exact**: difference to the exact row (percentage points; bits per character).', report.timing === 'profiler' ? '- **attention ms**: time inside the timed attention calls per image (per window for the GPT), mean over seeds, measured by the core profiler around every call.' : '- **attention ms**: time of each timed layer\'s operator run alone on the inputs it received in the first evaluation batch (median of 3 forwards, each awaited with one read-back), per image (per window for the GPT); webgpu in Node cannot read synchronously, so the per-call profiler cannot wait for the GPU.', '- **end-to-end ms**: the whole evaluation pass (data preparation and every layer) per image / window.', '- **attention speedup**: exact attention time divided by the row\'s attention time.', '');
  return lines.join('\n');
}
