/**
 * The recursive key split of the causal form (HyperAttention's, spec §2 "Causal support"), shared
 * by the host path (causalThinformer.ts) and the device path (deviceThinformer.ts): they differ
 * only in where a coreset's positions live, so the split is generic in the coreset type.
 */
import { SwapformerError } from '@swapformer/core';

/** A leaf [lo, hi) of the split, with the coresets of every left half it lies to the right of. */
export interface CausalLeaf<C> {
  readonly lo: number;
  readonly hi: number;
  readonly context: readonly C[];
}

/**
 * Leaves of [lo, hi) that hold at least one query position (≥ firstQuery), left to right; halves
 * down to blocks of at most `exactBlock` keys. `coreset(lo, mid)` is called once per left half
 * that some query lies to the right of, in left-to-right order (seeds derive from the range).
 *
 * @example causalLeaves(0, 4096, 0, 512, (lo, hi) => coresetOf(lo, hi)).map((leaf) => attend(leaf));
 */
export function causalLeaves<C>(lo: number, hi: number, firstQuery: number, exactBlock: number, coreset: (lo: number, hi: number) => C, context: readonly C[] = []): CausalLeaf<C>[] {
  if (hi <= firstQuery) return [];
  if (hi - lo <= exactBlock) return [{ lo, hi, context }];
  const mid = lo + Math.floor((hi - lo) / 2);
  return [...causalLeaves(lo, mid, firstQuery, exactBlock, coreset, context), ...causalLeaves(mid, hi, firstQuery, exactBlock, coreset, [...context, coreset(lo, mid)])];
}

/** The causal form aligns queries to the end of the keys, so every query must see at least one key. */
export function checkQueriesAlignedToKeys(nq: number, nk: number): void {
  if (nq > nk) {
    throw new SwapformerError(
      'invalid-input',
      `causal Thinformer needs nq ≤ nk (queries aligned to the end of the keys), got nq = ${nq}, nk = ${nk}.\n  The first ${nq - nk} queries would see no key; use the exact operator for this call.`,
    );
  }
}
