/**
 * A checkpoint's config and tensors, however they were read (files in Node, fetched bytes in a
 * page), made into a ViT/GPT graph with any attention operator swapped in. Loading is strict:
 * unexpected keys and shape mismatches are errors, and so are missing keys — except the state an
 * operator declares it owns (`<layer>.attention.operator.*`), which keeps its own initialisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { buildModel, checkAttentionSpec } from '../models/buildModel';
import type { GptModel } from '../models/buildGpt';
import type { VitModel } from '../models/buildVit';
import { fromHfLayout, type ModelParameter } from '../models/parameterStore';
import type { CheckpointTensors } from './checkpointFiles';
import { fromHfConfig } from './hfConfig';

export interface LoadCheckpointOptions {
  /** Operator selection to swap in (default: the one saved with the checkpoint, else exact). */
  readonly attention?: AttentionSpec;
  /** The model will be fine-tuned: allows operators that are not drop-in for softmax weights. */
  readonly training?: boolean;
}

/** What loading did, key by key. */
export interface LoadReport {
  readonly dir: string;
  readonly architecture: string;
  readonly loaded: readonly string[];
  /** Operator-owned parameters absent from the checkpoint (left at their initialisation). */
  readonly operatorInitialised: readonly string[];
  /** Checkpoint keys skipped on purpose (tied `lm_head.weight`, GPT-2 mask buffers). */
  readonly ignored: readonly string[];
  /** Parameters derived from another key (a q-only layer's query taken from GPT-2's fused c_attn). */
  readonly derived: ReadonlyArray<{ readonly parameter: string; readonly from: string }>;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** GPT-2 causal-mask buffers some checkpoints carry; they are not parameters. */
const GPT2_BUFFERS = /(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/;

function list(names: readonly string[], max = 12): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} … (${names.length - max} more)`;
}

/** GPT-2 projection weights, `[in, out]` Conv1D in GPT-2 checkpoints, `[out, in]` if saved from nn.Linear. */
const GPT2_PROJECTION = /\.attn\.(c_attn|q_attn|c_proj)\.weight$|\.mlp\.(c_fc|c_proj)\.weight$/;

/**
 * True when a GPT-2 checkpoint stores its projections as nn.Linear `[out, in]` instead of
 * Conv1D `[in, out]`; told apart by the fused `c_attn` of the first layer, [3d, d] vs [d, 3d].
 */
function linearGpt2Layout(model: VitModel | GptModel, tensors: CheckpointTensors): boolean {
  if (model.kind !== 'gpt') return false;
  const d = model.modelConfig.hiddenSize;
  const entry = [...tensors.entries.values()].find((e) => /(^|\.)h\.0\.attn\.c_attn\.weight$/.test(e.name));
  return entry !== undefined && entry.shape[0] === 3 * d && entry.shape[1] === d;
}

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

function assignWeights(model: VitModel | GptModel, tensors: CheckpointTensors, dir: string, architecture: string): LoadReport {
  const consumed = new Set<string>();
  const loaded: string[] = [];
  const operatorInitialised: string[] = [];
  const derived: Array<{ parameter: string; from: string }> = [];
  const missing: string[] = [];
  const problems: string[] = [];
  const values = new Map<ModelParameter, Float32Array>();
  const linearLayout = linearGpt2Layout(model, tensors);
  for (const modelParam of model.parameters()) {
    const param: ModelParameter = linearLayout && GPT2_PROJECTION.test(modelParam.name) ? { ...modelParam, layout: 'linear', hfShape: [modelParam.hfShape[1], modelParam.hfShape[0]] } : modelParam;
    let source = param.name;
    let data: Float32Array | undefined;
    let shape: readonly number[] | undefined;
    const fused = param.name.replace(/\.attn\.q_attn\.(weight|bias)$/, '.attn.c_attn.$1');
    if (!tensors.entries.has(param.name) && fused !== param.name && tensors.entries.has(fused)) {
      source = fused;
      const entry = tensors.entries.get(fused)!;
      data = queryPart(tensors.read(fused), entry.shape, linearLayout);
      shape = entry.shape.length === 1 ? [entry.shape[0] / 3] : linearLayout ? [entry.shape[0] / 3, entry.shape[1]] : [entry.shape[0], entry.shape[1] / 3];
      derived.push({ parameter: param.name, from: fused });
    } else if (tensors.entries.has(param.name)) {
      shape = tensors.entries.get(param.name)!.shape;
    } else {
      if (param.ownedBy) operatorInitialised.push(param.name);
      else missing.push(param.name);
      continue;
    }
    consumed.add(source);
    if (shape.length !== param.hfShape.length || shape.some((s, i) => s !== param.hfShape[i])) {
      problems.push(`  shape mismatch for "${source}": checkpoint [${shape.join(', ')}], model expects [${param.hfShape.join(', ')}]`);
      continue;
    }
    values.set(param, data ?? tensors.read(source));
    loaded.push(param.name);
  }
  const ignored: string[] = [];
  const gpt = model.kind === 'gpt' ? model.modelConfig : undefined;
  const unexpected = [...tensors.entries.keys()].filter((k) => {
    if (consumed.has(k)) return false;
    if (gpt && (GPT2_BUFFERS.test(k) || (k === 'lm_head.weight' && gpt.lmHead && gpt.tieWordEmbeddings))) {
      ignored.push(k);
      return false;
    }
    return true;
  });
  if (missing.length) problems.push(`  missing keys (${missing.length}): ${list(missing)}`);
  if (unexpected.length) problems.push(`  unexpected keys (${unexpected.length}): ${list(unexpected)}`);
  if (problems.length) {
    throw new SwapformerError(
      'invalid-checkpoint',
      [`checkpoint "${dir}" (${architecture}) does not match the model graph:`, ...problems, '  Only state owned by a swapped-in operator may be missing (it keeps its initialisation).'].join('\n'),
      { path: dir },
    );
  }
  for (const [param, data] of values) {
    tf.tidy(() => param.variable.assign(tf.tensor(fromHfLayout(param, data), param.variable.shape, 'float32')));
  }
  return { dir, architecture, loaded, operatorInitialised, ignored, derived };
}

/**
 * Builds the graph a checkpoint's `config.json` describes and assigns its tensors. `source` names
 * the checkpoint in messages (a folder or a URL). Swapping an operator into weights trained with
 * another one requires it to be a drop-in replacement unless `training` is set.
 *
 * @example const { model, report } = modelFromCheckpoint(configJson, tensors, url, registry);
 */
export function modelFromCheckpoint(json: unknown, tensors: CheckpointTensors, source: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}): { model: VitModel | GptModel; report: LoadReport } {
  const configFile = `${source}/config.json`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SwapformerError('invalid-checkpoint', `${configFile}: must be a JSON object.`, { path: configFile });
  const description = fromHfConfig(json as Record<string, unknown>, configFile, (k) => tensors.entries.has(k));
  const saved = description.attention ? checkAttentionSpec(description.attention, '/swapformer/attention') : { name: 'exact' };
  const attention = options.attention ? checkAttentionSpec(options.attention) : saved;
  const swapped = options.attention !== undefined && !sameJson(attention, saved);
  const model = buildModel(description.config, attention, registry, { pretrainedWeights: swapped, training: options.training });
  try {
    return { model, report: assignWeights(model, tensors, source, description.architecture) };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
