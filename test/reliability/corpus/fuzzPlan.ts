/**
 * How many generated inputs each fuzzing target gets (test/reliability/fuzzing.test.ts).
 * The default fits `npm test`'s budget; SWAPFORMER_FUZZ_RUNS sets the total for nightly runs,
 * shared in the same proportions. docs/reliability.md lists these defaults (checked by
 * reliabilityDoc.test.ts).
 */
export const FUZZ_DEFAULT_RUNS = {
  'safetensors bytes': 2500,
  'safetensors header JSON': 1000,
  'sharded index': 1000,
  'config validation': 3000,
  'IDX bytes': 2500,
  'JSON file text': 1000,
  'HF config and tokenizer': 1000,
} as const;

export type FuzzTarget = keyof typeof FUZZ_DEFAULT_RUNS;

export const FUZZ_DEFAULT_TOTAL = Object.values(FUZZ_DEFAULT_RUNS).reduce((a, b) => a + b, 0);

/** Runs per target for a total of `total` (the defaults when undefined). */
export function fuzzRuns(total: number | undefined): Record<FuzzTarget, number> {
  const scale = total === undefined ? 1 : total / FUZZ_DEFAULT_TOTAL;
  return Object.fromEntries(Object.entries(FUZZ_DEFAULT_RUNS).map(([k, v]) => [k, Math.max(1, Math.round(v * scale))])) as Record<FuzzTarget, number>;
}
