/**
 * A checkpoint's config and tensors, however they were read (files in Node, fetched bytes in a
 * page), made into the graph of the family the config names, with any attention operator
 * swapped in. The loading rules are those of loadCheckpoint.ts, which reads the files.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { BUILT_IN_FAMILIES, type BuiltInModel } from '../families/builtInFamilies';
import { familyForHfConfig } from '../families/familyTable';
import type { FamilyTable, ModelFamily, ParameterSource, StoredTensors } from '../families/ModelFamily';
import { checkAttentionSpec } from '../models/buildModel';
import { fromHfLayout, type ModelParameter } from '../models/parameterStore';
import type { SwapformerModel } from '../models/SwapformerModel';
import type { CheckpointTensors } from './checkpointFiles';
import { preloadCheckpoint } from './preloadCheckpoint';

export interface LoadCheckpointOptions {
  /** Operator selection to swap in (default: the one saved with the checkpoint, else exact). */
  readonly attention?: AttentionSpec;
  /** The model will be fine-tuned: allows operators that are not drop-in for softmax weights. */
  readonly training?: boolean;
  /** Families to look the config up in (default: the built-in ViT, GPT-2 and Llama families). */
  readonly families?: FamilyTable;
}

/** What loading did, key by key. */
export interface LoadReport {
  readonly dir: string;
  /** The family that read the checkpoint (`"gpt"`, `"llama"`, …). */
  readonly family: string;
  readonly architecture: string;
  readonly loaded: readonly string[];
  /** Parameters read from a stored key of another name (with or without the base-model prefix). */
  readonly renamed: ReadonlyArray<{ readonly parameter: string; readonly from: string }>;
  /** Stored keys skipped because the parameter is tied to another one (`lm_head.weight` → the embedding). */
  readonly tied: ReadonlyArray<{ readonly key: string; readonly to: string }>;
  /** Stored buffers skipped on purpose (GPT-2 mask buffers, rotary `inv_freq`). */
  readonly ignored: readonly string[];
  /** Operator-owned parameters absent from the checkpoint (left at their initialisation). */
  readonly operatorInitialised: readonly string[];
  /** Parameters derived from another key (a q-only layer's query taken from GPT-2's fused c_attn). */
  readonly derived: ReadonlyArray<{ readonly parameter: string; readonly from: string }>;
  /** Layers whose operator gets repeated key/value heads (grouped-query attention it does not handle itself). */
  readonly repeatedKeyValueHeads: ReadonlyArray<{ readonly layer: number; readonly operator: string; readonly kvHeads: number; readonly heads: number }>;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function list(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} … (${names.length - max} more)`;
}

function storedTensors(tensors: CheckpointTensors): StoredTensors {
  return {
    has: (name) => tensors.entries.has(name),
    shape: (name) => tensors.entries.get(name)!.shape,
    read: (name) => tensors.read(name),
    names: () => [...tensors.entries.keys()],
  };
}

/** transformers' base-prefix rule: the stored key of a parameter, as named, without the prefix, or with it. */
function keyResolver(stored: StoredTensors, prefix: string): (name: string) => string | undefined {
  return (name) => {
    if (stored.has(name)) return name;
    if (prefix && name.startsWith(prefix) && stored.has(name.slice(prefix.length))) return name.slice(prefix.length);
    if (prefix && !name.startsWith(prefix) && stored.has(prefix + name)) return prefix + name;
    return undefined;
  };
}

function assignWeights(family: ModelFamily, model: SwapformerModel, config: unknown, tensors: CheckpointTensors, dir: string, architecture: string, preloaded: ReadonlySet<string>): Omit<LoadReport, 'repeatedKeyValueHeads'> {
  const stored = storedTensors(tensors);
  const prefix = family.hf.basePrefix;
  const resolve = keyResolver(stored, prefix);
  const consumed = new Set<string>();
  const report = { loaded: [] as string[], renamed: [] as Array<{ parameter: string; from: string }>, derived: [] as Array<{ parameter: string; from: string }>, operatorInitialised: [] as string[] };
  const missing: string[] = [];
  const problems: string[] = [];
  const values = new Map<ModelParameter, Float32Array>();
  for (const modelParam of model.parameters() as ModelParameter[]) {
    const key = resolve(modelParam.name);
    const source: ParameterSource | undefined =
      family.hf.readParameter?.(modelParam, stored, resolve, model) ?? (key !== undefined ? { param: modelParam, from: key, shape: stored.shape(key), data: () => stored.read(key) } : undefined);
    if (!source) {
      if (modelParam.ownedBy) report.operatorInitialised.push(modelParam.name);
      else missing.push(modelParam.name);
      continue;
    }
    consumed.add(source.from);
    const expected = source.param.hfShape;
    if (source.shape.length !== expected.length || source.shape.some((s, i) => s !== expected[i])) {
      problems.push(`  shape mismatch for "${source.from}": checkpoint [${source.shape.join(', ')}], model expects [${expected.join(', ')}]`);
      continue;
    }
    if (source.derived) report.derived.push({ parameter: modelParam.name, from: source.from });
    else if (source.from !== modelParam.name) report.renamed.push({ parameter: modelParam.name, from: source.from });
    // a preloaded parameter already holds the very values of its stored key (read while the graph was built)
    if (!(preloaded.has(modelParam.name) && !source.derived && source.from === key)) values.set(source.param, source.data());
    report.loaded.push(modelParam.name);
  }
  const tiedKeys = family.hf.tiedKeys(config as never);
  const tied: Array<{ key: string; to: string }> = [];
  const ignored: string[] = [];
  const unexpected = stored.names().filter((k) => {
    if (consumed.has(k)) return false;
    const bare = prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k;
    const to = tiedKeys[k] ?? tiedKeys[bare] ?? tiedKeys[prefix + k];
    if (to !== undefined) {
      tied.push({ key: k, to });
      return false;
    }
    if (family.hf.ignoredKeys.some((re) => re.test(k))) {
      ignored.push(k);
      return false;
    }
    return true;
  });
  if (missing.length) problems.push(`  missing keys (${missing.length}): ${list(missing)}`);
  if (unexpected.length) problems.push(`  unexpected keys (${unexpected.length}): ${list(unexpected)}`);
  if (problems.length) {
    const prefixNote = prefix ? ` Keys are accepted with or without the base-model prefix "${prefix}".` : '';
    throw new SwapformerError(
      'invalid-checkpoint',
      [`checkpoint "${dir}" does not match the ${family.label} graph its config.json asks for (family "${family.name}", ${architecture}):`, ...problems, `  Only state owned by a swapped-in operator may be missing (it keeps its initialisation).${prefixNote}`].join('\n'),
      { path: dir },
    );
  }
  for (const [param, data] of values) {
    tf.tidy(() => param.variable.assign(tf.tensor(fromHfLayout(param, data), param.variable.shape, 'float32')));
  }
  return { dir, family: family.name, architecture, ...report, tied, ignored };
}

/** Layers given repeated k/v heads because their operator does not declare grouped key/value heads. */
function repeatedKeyValueHeads(model: SwapformerModel): LoadReport['repeatedKeyValueHeads'] {
  const layers = (model as { layers?: ReadonlyArray<{ layerIndex: number; resolved: { name: string }; keyValueHeads?: { heads: number; kvHeads: number; repeated: boolean } }> }).layers ?? [];
  return layers.filter((l) => l.keyValueHeads?.repeated).map((l) => ({ layer: l.layerIndex, operator: l.resolved.name, kvHeads: l.keyValueHeads!.kvHeads, heads: l.keyValueHeads!.heads }));
}

/** What tfjs-wasm can address (wasm32), less room for activations and the kernels' own buffers. */
const WASM_WEIGHT_BYTES_LIMIT = 3.5 * 2 ** 30;

/**
 * Refuses, before anything is allocated, a checkpoint whose float32 weights cannot fit the wasm
 * heap: past 4 GiB tfjs-wasm's allocations fail inside the module (a "memory access out of
 * bounds" on a later tensor), not where the weights are loaded.
 */
function checkFitsBackend(tensors: CheckpointTensors, dir: string): void {
  if (tf.getBackend() !== 'wasm') return;
  let params = 0;
  for (const entry of tensors.entries.values()) params += entry.shape.reduce((a, s) => a * s, 1);
  const bytes = params * 4; // every dtype is widened to float32
  if (bytes <= WASM_WEIGHT_BYTES_LIMIT) return;
  const gib = (x: number) => (x / 2 ** 30).toFixed(2);
  throw new SwapformerError(
    'unsupported',
    `checkpoint "${dir}": its ${(params / 1e6).toFixed(0)} M parameters take ${gib(bytes)} GiB as float32, more than the wasm backend can hold (${gib(WASM_WEIGHT_BYTES_LIMIT)} GiB of wasm32's 4 GiB address space). Load it on backend 'cpu' (--backend cpu: no such limit, slower) or 'webgpu' (GPU memory).`,
    { path: dir },
  );
}

/**
 * Builds the graph a checkpoint's `config.json` describes and assigns its tensors; `dir` names
 * the checkpoint in reports and messages (a folder or a URL). Swapping an operator into weights
 * trained with another one requires it to be a drop-in replacement unless `training` is set.
 *
 * @example const { model, report } = modelFromCheckpoint(configJson, tensors, url, registry);
 */
export function modelFromCheckpoint(json: unknown, tensors: CheckpointTensors, dir: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}, configFile = `${dir}/config.json`): { model: BuiltInModel; report: LoadReport } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SwapformerError('invalid-checkpoint', `${configFile}: must be a JSON object.`, { path: configFile });
  const families = options.families ?? BUILT_IN_FAMILIES;
  const family = familyForHfConfig(families, json as Record<string, unknown>, configFile);
  checkFitsBackend(tensors, dir);
  const resolve = keyResolver(storedTensors(tensors), family.hf.basePrefix);
  const description = family.hf.fromHfConfig(json as Record<string, unknown>, configFile, (k) => resolve(k) !== undefined);
  const saved = description.attention ? checkAttentionSpec(description.attention, '/swapformer/attention') : { name: 'exact' };
  const attention = options.attention ? checkAttentionSpec(options.attention) : saved;
  const swapped = options.attention !== undefined && !sameJson(attention, saved);
  // read each stored tensor straight into its variable while the graph is built (no random draw
  // the load would overwrite); a family that reinterprets a layout (GPT-2 saved from nn.Linear) loads it itself
  const preload = preloadCheckpoint(tensors, !family.hf.reinterpretsLayout?.(storedTensors(tensors), description.config), resolve);
  const model = family.build(description.config, attention, registry, { pretrainedWeights: swapped, training: options.training, initialValues: preload.initialValues }) as BuiltInModel;
  try {
    const report = assignWeights(family, model, description.config, tensors, dir, description.architecture, preload.preloaded);
    return { model, report: { ...report, repeatedKeyValueHeads: repeatedKeyValueHeads(model) } };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
