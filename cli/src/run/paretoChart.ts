/**
 * A small SVG scatter of accuracy against attention time, one labelled point per operator with
 * its ± std error bar, and the Pareto front (no other point is both faster and more accurate)
 * joined by a dashed line.
 */
import { summarizeRows, type TableRow } from './measureRows';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999', '#7F3C8D', '#3969AC'];

function niceTicks(min: number, max: number, count: number): number[] {
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) out.push(Number(t.toPrecision(6)));
  return out;
}

/**
 * @example fs.writeFileSync('docs/results/dropin.svg', renderParetoSvg(report.vit.rows, 'ViT on Fashion-MNIST'));
 */
export function renderParetoSvg(rows: readonly TableRow[], title: string, options: { width?: number; height?: number; metricLabel?: string; scale?: number } = {}): string {
  const width = options.width ?? 880;
  const height = options.height ?? 480;
  const scale = options.scale ?? 100;
  const pts = summarizeRows(rows, true).map((r, i) => ({ label: r.label, x: r.attentionMs, y: scale * r.metric.mean, e: scale * r.metric.std, dominated: r.dominated, color: PALETTE[i % PALETTE.length], trained: r.source === 'trained' }));
  const m = { left: 70, right: 270, top: 44, bottom: 56 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xs = pts.map((p) => p.x);
  const ys = pts.flatMap((p) => [p.y - p.e, p.y + p.e]);
  const xMax = Math.max(1e-6, ...xs) * 1.1;
  const yLo = ys.length ? Math.min(...ys) : 0;
  const yHi = ys.length ? Math.max(...ys) : 1;
  const pad = Math.max(0.5, (yHi - yLo) * 0.1);
  const [y0, y1] = [yLo - pad, yHi + pad];
  const X = (x: number) => m.left + (x / xMax) * w;
  const Y = (y: number) => m.top + h - ((y - y0) / (y1 - y0)) * h;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of niceTicks(0, xMax, 6)) out.push(`<line x1="${X(t).toFixed(1)}" y1="${m.top}" x2="${X(t).toFixed(1)}" y2="${m.top + h}" stroke="#eee"/>`, `<text x="${X(t).toFixed(1)}" y="${m.top + h + 16}" text-anchor="middle">${t}</text>`);
  for (const t of niceTicks(y0, y1, 6)) out.push(`<line x1="${m.left}" y1="${Y(t).toFixed(1)}" x2="${m.left + w}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`, `<text x="${m.left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + w / 2}" y="${height - 14}" text-anchor="middle">attention time in the swapped layers (ms per image, lower is better)</text>`);
  out.push(`<text transform="translate(18 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(options.metricLabel ?? 'top-1 accuracy (%)')}</text>`);
  const front = pts.filter((p) => !p.dominated).sort((a, b) => a.x - b.x);
  if (front.length > 1) out.push(`<polyline points="${front.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="#888" stroke-dasharray="5 4"/>`);
  pts.forEach((p, i) => {
    const cx = X(p.x).toFixed(1);
    if (p.e > 0) out.push(`<line x1="${cx}" y1="${Y(p.y - p.e).toFixed(1)}" x2="${cx}" y2="${Y(p.y + p.e).toFixed(1)}" stroke="${p.color}" stroke-width="1.5"/>`);
    out.push(p.trained ? `<rect x="${(X(p.x) - 5).toFixed(1)}" y="${(Y(p.y) - 5).toFixed(1)}" width="10" height="10" fill="${p.color}"/>` : `<circle cx="${cx}" cy="${Y(p.y).toFixed(1)}" r="5" fill="${p.color}"/>`);
    const ly = m.top + 14 + i * 18;
    out.push(p.trained ? `<rect x="${m.left + w + 14}" y="${ly - 9}" width="10" height="10" fill="${p.color}"/>` : `<circle cx="${m.left + w + 19}" cy="${ly - 4}" r="5" fill="${p.color}"/>`);
    out.push(`<text x="${m.left + w + 30}" y="${ly}">${esc(p.label)}</text>`);
  });
  out.push(`<text x="${m.left + w + 14}" y="${m.top + 14 + pts.length * 18 + 10}" fill="#555">● drop-in  ■ trained with it</text>`);
  out.push(`<text x="${m.left + w + 14}" y="${m.top + 14 + pts.length * 18 + 28}" fill="#555">- - Pareto front</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
