import { SCHEMA_IDS } from '@swapformer/schemas';
import { num } from '../../models/modelSizeLimits';
import type { ModelParameter } from '../../models/parameterStore';
import type { ModelFamily, ParameterSource, StoredTensors } from '../ModelFamily';
import { buildGpt, type GptModel } from './buildGpt';
import { gptModelSize, normalizeGptConfig, type GptModelConfig } from './gptConfig';
import { fromGptHfConfig, GPT2_ARCHITECTURES, toGptHfConfig } from './gptHfConfig';

/** GPT-2 projection weights: Conv1D `[in, out]` in GPT-2 checkpoints, `[out, in]` if saved from nn.Linear. */
const GPT2_PROJECTION = /\.attn\.(c_attn|q_attn|c_proj)\.weight$|\.mlp\.(c_fc|c_proj)\.weight$/;

/** The query third of a fused GPT-2 `c_attn` ([d, 3d] weight, or [3d, d] in Linear layout, or [3d] bias). */
function queryPart(data: Float32Array, shape: readonly number[], linearLayout: boolean): Float32Array {
  if (shape.length === 1) return data.slice(0, shape[0] / 3);
  if (linearLayout) return data.slice(0, (shape[0] / 3) * shape[1]);
  const [rows, cols] = shape;
  const d = cols / 3;
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols, r * cols + d), r * d);
  return out;
}

/**
 * GPT-2's own reading rules: a checkpoint saved from nn.Linear stores projections `[out, in]`
 * (told apart by the first layer's fused c_attn, [3d, d] instead of [d, 3d]); a q-only operator's
 * query projection is the first third of the fused c_attn.
 */
function linearGpt2Layout(stored: StoredTensors, d: number): boolean {
  const first = stored.names().find((n) => /(^|\.)h\.0\.attn\.c_attn\.weight$/.test(n));
  return first !== undefined && stored.shape(first)[0] === 3 * d && stored.shape(first)[1] === d;
}

function readGpt2Parameter(param: ModelParameter, stored: StoredTensors, resolve: (name: string) => string | undefined, model: GptModel): ParameterSource | undefined {
  const linearLayout = linearGpt2Layout(stored, model.modelConfig.hiddenSize);
  const laidOut: ModelParameter = linearLayout && GPT2_PROJECTION.test(param.name) ? { ...param, layout: 'linear', hfShape: [param.hfShape[1], param.hfShape[0]] } : param;
  const direct = resolve(param.name);
  if (direct !== undefined) return { param: laidOut, from: direct, shape: stored.shape(direct), data: () => stored.read(direct) };
  const fusedName = param.name.replace(/\.attn\.q_attn\.(weight|bias)$/, '.attn.c_attn.$1');
  const fused = fusedName !== param.name ? resolve(fusedName) : undefined;
  if (fused === undefined) return undefined;
  const s = stored.shape(fused);
  const shape = s.length === 1 ? [s[0] / 3] : linearLayout ? [s[0] / 3, s[1]] : [s[0], s[1] / 3];
  return { param: laidOut, from: fused, shape, data: () => queryPart(stored.read(fused), s, linearLayout), derived: true };
}

/** GPT-2 (`GPT2Model`, `GPT2LMHeadModel`). */
export const gptFamily: ModelFamily<GptModelConfig, GptModel> = {
  name: 'gpt',
  label: 'GPT',
  description: 'GPT model: {"model": "gpt", "vocabSize": ..., "nPositions": ..., "hiddenSize": ..., "attention": {...}} (every operator must support causal masking)',
  schemaId: SCHEMA_IDS.gptModelConfig,
  normalize: normalizeGptConfig,
  modelSize: gptModelSize,
  attentionLayers: (c) => num(c, 'numLayers'),
  requirements: { causal: true },
  build: (config, attention, registry, options) => buildGpt(config, attention, registry, options),
  hf: {
    modelTypes: ['gpt2'],
    architectures: GPT2_ARCHITECTURES,
    basePrefix: 'transformer.',
    // causal-mask buffers the original checkpoints carry (transformers < 4.? saved them as persistent buffers)
    ignoredKeys: [/(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/],
    tiedKeys: (c): Record<string, string> => (c.lmHead && c.tieWordEmbeddings ? { 'lm_head.weight': 'transformer.wte.weight' } : {}),
    fromHfConfig: (json, file) => fromGptHfConfig(json, file),
    toHfConfig: toGptHfConfig,
    readParameter: (param, stored, resolve, model) => readGpt2Parameter(param, stored, resolve, model as GptModel),
    // square projections match by shape in either layout: an nn.Linear checkpoint must go through readParameter
    reinterpretsLayout: (stored, config) => linearGpt2Layout(stored, config.hiddenSize),
  },
};
