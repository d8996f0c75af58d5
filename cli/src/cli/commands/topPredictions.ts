import * as path from 'node:path';
import { readJsonFile } from '@swapformer/registry';

/** One of the k most likely classes or next tokens. */
export interface Prediction {
  readonly id: number;
  readonly label: string;
  readonly probability: number;
  readonly logit: number;
}

/**
 * The k largest logits of `row` with their softmax probabilities (computed in float64 from the
 * maximum, so large logits do not overflow), most likely first.
 *
 * @example topPredictions(new Float32Array([0, 2, 1]), 2, String) // ids 1, 2
 */
export function topPredictions(row: Float32Array, k: number, label: (id: number) => string): Prediction[] {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let total = 0;
  for (const x of row) total += Math.exp(x - max);
  const ids = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, Math.min(k, row.length));
  return ids.map((id) => ({ id, label: label(id), probability: Math.exp(row[id] - max) / total, logit: row[id] }));
}

/** The checkpoint's `id2label` names (config.json), falling back to the id itself. */
export function labelsOf(dir: string): (id: number) => string {
  const json = readJsonFile(path.join(dir, 'config.json')) as { id2label?: Record<string, unknown> };
  const names = json && typeof json.id2label === 'object' && json.id2label !== null ? json.id2label : {};
  return (id) => (typeof names[String(id)] === 'string' ? (names[String(id)] as string) : String(id));
}

/** Aligned text lines: rank, probability, label, id. */
export function formatPredictions(predictions: readonly Prediction[]): string {
  return predictions.map((p, i) => `${String(i + 1).padStart(3)}. ${(100 * p.probability).toFixed(2).padStart(6)}%  ${p.label}  (id ${p.id}, logit ${p.logit.toFixed(4)})`).join('\n');
}
