/**
 * A small dependency-free SVG chart writer: linear or log axes, one polyline (or point set) per
 * series, a legend. Used for the benchmark's time-vs-n plot and for error-vs-time Pareto charts.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  /** Optional label drawn next to the point. */
  readonly label?: string;
}

export interface ChartSeries {
  readonly label: string;
  readonly points: readonly ChartPoint[];
  /** `line` joins the points in x order; `points` draws markers only. Default `line`. */
  readonly mode?: 'line' | 'points';
  readonly dashed?: boolean;
  /** CSS colour; default from the palette by series index. */
  readonly color?: string;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xScale?: 'log' | 'linear';
  readonly yScale?: 'log' | 'linear';
  readonly series: readonly ChartSeries[];
  /** Explicit x ticks (e.g. the sequence lengths measured); default from the axis range. */
  readonly xTicks?: readonly number[];
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-friendly palette (Okabe–Ito, then greys). */
export const CHART_PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000', '#999999', '#7F3C8D', '#11A579', '#3969AC'];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

/** Tick values for an axis: powers of 10 (with 2 and 5 between when the range is short) on log axes. */
export function axisTicks(min: number, max: number, scale: 'log' | 'linear'): number[] {
  if (!(max > min)) return [min];
  if (scale === 'log') {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.ceil(Math.log10(max));
    const steps = hi - lo <= 3 ? [1, 2, 5] : [1];
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) for (const s of steps) ticks.push(s * 10 ** e);
    return ticks.filter((t) => t >= min * (1 - 1e-9) && t <= max * (1 + 1e-9));
  }
  const raw = (max - min) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step); i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Short tick label: 1k, 16k, 0.5, 1e-3 … */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 && Number.isInteger(v / 1e6)) return `${v / 1e6}M`;
  if (a >= 1024 && Number.isInteger(Math.log2(a))) return `${v / 1024}k`;
  if (a >= 1000 && Number.isInteger(v / 1000)) return `${v / 1000}k`;
  if (a < 1e-2) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

/**
 * Renders the chart as a standalone SVG document. Non-positive values are dropped on log axes.
 *
 * @example fs.writeFileSync('time.svg', renderSvgChart({ title: 'time', xLabel: 'n', yLabel: 'ms', xScale: 'log', yScale: 'log', series }));
 */
export function renderSvgChart(spec: ChartSpec): string {
  const width = spec.width ?? 820;
  const height = spec.height ?? 520;
  const xScale = spec.xScale ?? 'linear';
  const yScale = spec.yScale ?? 'linear';
  const ok = (p: ChartPoint) => Number.isFinite(p.x) && Number.isFinite(p.y) && (xScale !== 'log' || p.x > 0) && (yScale !== 'log' || p.y > 0);
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter(ok) }));
  const all = series.flatMap((s) => s.points);
  const legendWidth = 190;
  const m = { left: 70, right: legendWidth + 20, top: 40, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left + plotW / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
  ];
  if (all.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return parts.join('\n');
  }
  const range = (vals: number[], scale: 'log' | 'linear'): [number, number] => {
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (scale === 'log') {
      lo /= 1.25;
      hi *= 1.25;
    } else {
      const pad = (hi - lo || Math.abs(hi) || 1) * 0.05;
      lo -= pad;
      hi += pad;
    }
    return [lo, hi];
  };
  const [x0, x1] = range(all.map((p) => p.x), xScale);
  const [y0, y1] = range(all.map((p) => p.y), yScale);
  const t = (v: number, scale: 'log' | 'linear') => (scale === 'log' ? Math.log10(v) : v);
  const px = (x: number) => m.left + ((t(x, xScale) - t(x0, xScale)) / (t(x1, xScale) - t(x0, xScale))) * plotW;
  const py = (y: number) => m.top + plotH - ((t(y, yScale) - t(y0, yScale)) / (t(y1, yScale) - t(y0, yScale))) * plotH;
  // grid and ticks
  for (const xv of spec.xTicks?.filter((v) => v >= x0 && v <= x1) ?? axisTicks(x0, x1, xScale)) {
    const x = fmt(px(xv));
    parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + plotH}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${m.top + plotH + 16}" text-anchor="middle">${tickLabel(xv)}</text>`);
  }
  for (const yv of axisTicks(y0, y1, yScale)) {
    const y = fmt(py(yv));
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(yv)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}${xScale === 'log' ? ' (log)' : ''}</text>`);
  parts.push(`<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}${yScale === 'log' ? ' (log)' : ''}</text>`);
  // series
  series.forEach((s, i) => {
    const color = s.color ?? CHART_PALETTE[i % CHART_PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if ((s.mode ?? 'line') === 'line' && pts.length > 1) {
      const d = pts.map((p) => `${fmt(px(p.x))},${fmt(py(p.y))}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`);
    }
    for (const p of pts) {
      parts.push(`<circle cx="${fmt(px(p.x))}" cy="${fmt(py(p.y))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.label}: ${p.x}, ${Number(p.y.toPrecision(4))}`)}</title></circle>`);
      if (p.label) parts.push(`<text x="${fmt(px(p.x) + 6)}" y="${fmt(py(p.y) - 6)}" font-size="10" fill="${color}">${escapeXml(p.label)}</text>`);
    }
    const ly = m.top + 8 + i * 20;
    const lx = width - legendWidth;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<circle cx="${lx + 12}" cy="${ly}" r="3.5" fill="${color}"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
