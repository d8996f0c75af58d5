import type { LayerOperator, NamedVariable, SwapformerModel } from '@swapformer/models';

/** The operators of a built ViT / GPT graph, one per attention layer. */
export function layerOperators(model: SwapformerModel): readonly LayerOperator[] {
  return (model as SwapformerModel & { layers?: readonly LayerOperator[] }).layers ?? [];
}

/** Indices of the layers whose operator is not exact attention (what adaptation changes). */
export function swappedLayerIndices(model: SwapformerModel): number[] {
  return layerOperators(model)
    .filter((l) => l.resolved.name !== 'exact')
    .map((l) => l.layerIndex);
}

/** Parameters the operators of `layers` own and train (Performer's learned map, TOST's temp). */
export function operatorTrainables(model: SwapformerModel): NamedVariable[] {
  return model.parameters().filter((p) => p.ownedBy !== undefined && p.trainable);
}

// HF names of the query/key projections: GPT-2 fuses q, k and v into c_attn (so training q/k
// there trains v too), ViT keeps attention.attention.query / .key.
const QUERY_KEY = /\.(attn\.c_attn|attn\.q_attn|attn\.k_attn|attention\.attention\.query|attention\.attention\.key)\.(weight|bias)$/;
// HF names of q/k/v/o weights (LoRA targets).
const QKVO_WEIGHT =
  /\.(attn\.c_attn|attn\.q_attn|attn\.k_attn|attn\.v_attn|attn\.c_proj|attention\.attention\.query|attention\.attention\.key|attention\.attention\.value|attention\.output\.dense)\.weight$/;

/**
 * The checkpoint-name prefix of global layer `i`: GPT `transformer.h.i.`; the ViT numbers its
 * pixel-stage blocks first (`pixel_stage.layer.i.`), then the encoder from 0 again.
 */
function layerPrefix(model: SwapformerModel, i: number): string {
  if (model.kind === 'gpt') return `.h.${i}.`;
  const stage = (model.config.swapformer as { pixel_stage?: { layers: number } } | undefined)?.pixel_stage?.layers ?? 0;
  return i < stage ? `pixel_stage.layer.${i}.` : `encoder.layer.${i - stage}.`;
}

function inLayers(model: SwapformerModel, name: string, layers: readonly number[]): boolean {
  return layers.some((i) => name.includes(layerPrefix(model, i)));
}

/** The q/k projection parameters of `layers` (stage 1 may train them with the operator's own). */
export function queryKeyParameters(model: SwapformerModel, layers: readonly number[]): NamedVariable[] {
  return model.parameters().filter((p) => p.ownedBy === undefined && QUERY_KEY.test(p.name) && inLayers(model, p.name, layers));
}

/** The q/k/v/o weight matrices of `layers` (stage 2's LoRA targets). */
export function attentionWeights(model: SwapformerModel, layers: readonly number[]): NamedVariable[] {
  return model.parameters().filter((p) => p.ownedBy === undefined && p.variable.rank === 2 && QKVO_WEIGHT.test(p.name) && inLayers(model, p.name, layers));
}
