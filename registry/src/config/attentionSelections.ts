import { SwapformerError } from '@swapformer/core';
import type { OperatorSelection } from '../registry/OperatorRegistry';

/** A layer set of an override: an index, indices, {from, to} or {first}. */
export type LayerSet = number | readonly number[] | { readonly from: number; readonly to: number } | { readonly first: number };

export interface LayerOverride extends OperatorSelection {
  readonly layers: LayerSet;
}

/** `attention` as configs write it: one selection, or a default with per-layer overrides. */
export type AttentionSpec = OperatorSelection | { readonly default: OperatorSelection; readonly overrides?: readonly LayerOverride[] };

function isPerLayer(spec: AttentionSpec): spec is { default: OperatorSelection; overrides?: readonly LayerOverride[] } {
  return typeof spec === 'object' && spec !== null && 'default' in spec;
}

function covers(layers: LayerSet, index: number): boolean {
  if (typeof layers === 'number') return layers === index;
  if (Array.isArray(layers)) return layers.includes(index);
  if ('first' in (layers as object)) return index < (layers as { first: number }).first;
  const range = layers as { from: number; to: number };
  return index >= range.from && index <= range.to;
}

/** Every selection in an attention spec with its JSON path (for validation and listing). Throws for a {from, to} range with from > to. */
export function attentionSelections(spec: AttentionSpec, basePath = '/attention'): Array<{ selection: OperatorSelection; path: string }> {
  if (!isPerLayer(spec)) return [{ selection: spec as OperatorSelection, path: basePath }];
  (spec.overrides ?? []).forEach((o, i) => {
    const range = o.layers as { from?: unknown; to?: unknown };
    if (typeof range === 'object' && range !== null && typeof range.from === 'number' && typeof range.to === 'number' && range.from > range.to) {
      throw new SwapformerError('invalid-config', `${basePath}/overrides/${i}/layers: "from" (${range.from}) is after "to" (${range.to}), so the override matches no layer.`, { path: `${basePath}/overrides/${i}/layers` });
    }
  });
  return [
    { selection: spec.default, path: `${basePath}/default` },
    ...(spec.overrides ?? []).map((o, i) => ({ selection: { name: o.name, options: o.options, fallback: o.fallback }, path: `${basePath}/overrides/${i}` })),
  ];
}

/**
 * The selection for layer `index` of a `numLayers`-layer model (the last matching override
 * wins) and its JSON path. Overrides naming layers beyond the model are errors.
 *
 * @example selectionForLayer({ default: { name: 'exact' }, overrides: [{ layers: { first: 2 }, name: 'performer' }] }, 0, 6)
 */
export function selectionForLayer(spec: AttentionSpec, index: number, numLayers: number, basePath = '/attention'): { selection: OperatorSelection; path: string } {
  if (!isPerLayer(spec)) return { selection: spec as OperatorSelection, path: basePath };
  (spec.overrides ?? []).forEach((o, i) => {
    const max = typeof o.layers === 'number' ? o.layers : Array.isArray(o.layers) ? Math.max(...o.layers) : 'first' in (o.layers as object) ? (o.layers as { first: number }).first - 1 : (o.layers as { to: number }).to;
    if (max >= numLayers) {
      throw new SwapformerError('invalid-config', `${basePath}/overrides/${i}/layers names layer ${max}, but the model has ${numLayers} layers (0–${numLayers - 1}).`, { path: `${basePath}/overrides/${i}/layers` });
    }
  });
  let chosen = { selection: spec.default, path: `${basePath}/default` };
  (spec.overrides ?? []).forEach((o, i) => {
    if (covers(o.layers, index)) chosen = { selection: { name: o.name, options: o.options, fallback: o.fallback }, path: `${basePath}/overrides/${i}` };
  });
  return chosen;
}
