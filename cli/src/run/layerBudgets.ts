/**
 * Per swapped layer: its sequence length and how many keys the operator keeps per query there.
 * Budgeted operators (Thinformer's coreset, LevAttention's top-k) approximate softmax only when
 * n ≫ their budget; swapped into a short layer they lose accuracy with nothing saying why (a
 * Thinformer in a 50-token ViT layer fell to 54 %), so such layers get a warning.
 */
import type { SwapformerHooks } from '@swapformer/core';
import type { ResolvedOperator } from '@swapformer/registry';

/** What a layer budget needs of a model: its layers' resolved operators (ViT and GPT graphs have them). */
interface LayeredModel {
  readonly layers?: ReadonlyArray<{ readonly layerIndex: number; readonly resolved: ResolvedOperator }>;
}

/** One swapped layer of a row. */
export interface LayerBudget {
  readonly layer: number;
  readonly operator: string;
  /** Keys (sequence length) of the layer's longest attention call in the run (warm-ups and decoding steps are shorter). */
  readonly n: number;
  /** Keys each query attends to (the operator's own estimate; absent: every key, or data-dependent). */
  readonly keysPerQuery?: number;
}

/** n must be at least this many times the budget for "n ≫ budget"; below, a warning. */
export const BUDGET_RATIO = 4;

/** Records the largest key count of each wanted layer's attention calls; `stop` removes the tap's effect. */
export function watchLayerLengths(hooks: SwapformerHooks, wanted: (layer: number) => boolean, name: string): { lengths: Map<number, number>; stop(): void } {
  const lengths = new Map<number, number>();
  let active = true;
  hooks.beforeAttention.tap({ name, stage: 1e9 }, (inputs, info) => {
    const layer = info.layerIndex;
    // the longest call is the evaluation itself: a warm-up or a decoding step sees fewer keys
    if (active && layer !== undefined && wanted(layer)) lengths.set(layer, Math.max(lengths.get(layer) ?? 0, inputs.k.shape[2]));
    return inputs;
  });
  return { lengths, stop: () => (active = false) };
}

/** Each measured layer with its operator and that operator's budget at the layer's n. */
export function layerBudgets(model: object, lengths: ReadonlyMap<number, number>): LayerBudget[] {
  // the run's loader hands out the SwapformerModel interface; the ViT/GPT graphs behind it list their layers
  return ((model as LayeredModel).layers ?? [])
    .filter((l) => lengths.has(l.layerIndex))
    .map((l) => {
      const n = lengths.get(l.layerIndex)!;
      const keys = l.resolved.plugin.keysPerQuery?.(l.resolved.options as never, n) ?? null;
      return { layer: l.layerIndex, operator: l.resolved.name, n, ...(keys === null ? {} : { keysPerQuery: Math.round(keys) }) };
    });
}

/** Warnings for layers where a budgeted operator's n is not ≫ its budget. */
export function budgetWarnings(layers: readonly LayerBudget[]): string[] {
  return layers
    .filter((l) => l.keysPerQuery !== undefined && l.keysPerQuery * BUDGET_RATIO > l.n)
    .map((l) =>
      l.keysPerQuery! >= l.n
        ? `layer ${l.layer}: "${l.operator}" keeps all ${l.n} keys there (its budget reaches n): exact attention at extra cost; swap it into longer layers.`
        : `layer ${l.layer}: "${l.operator}" keeps ${l.keysPerQuery} of ${l.n} keys per query; it needs n ≫ its budget (here n < ${BUDGET_RATIO}× budget), so expect an accuracy loss; swap it into longer layers or lower its budget.`,
    );
}
