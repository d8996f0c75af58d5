import { fromHfLayout, type InitialValues } from '../models/parameterStore';
import type { CheckpointTensors } from './checkpointFiles';

/** Initial values read from a checkpoint while the graph is built, and which parameters got them. */
export interface CheckpointPreload {
  readonly initialValues: InitialValues;
  /** Parameters whose values were read from the stored key of the same name and shape. */
  readonly preloaded: ReadonlySet<string>;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * Values for building a graph straight from a checkpoint: every parameter stored under its own
 * name with the shape the graph expects is read once and becomes the variable's first value
 * (no random draw, no second copy — peak memory stays near the weights' own size). Everything
 * else is left `'deferred'` (zeros) for the loader, which derives, checks and reports it; with
 * `enabled` false (a layout the loader must reinterpret, e.g. GPT-2 saved from nn.Linear, where
 * square matrices would match by shape) nothing is preloaded. `storedName` maps a parameter to
 * the key it is stored under where a loader renames keys (a base-model prefix added or dropped).
 *
 * @example const preload = preloadCheckpoint(tensors); buildModel(config, attention, registry, { initialValues: preload.initialValues });
 */
export function preloadCheckpoint(tensors: CheckpointTensors, enabled = true, storedName: (parameter: string) => string | undefined = (name) => name): CheckpointPreload {
  const preloaded = new Set<string>();
  return {
    preloaded,
    initialValues(param) {
      const key = enabled ? storedName(param.name) : undefined;
      const entry = key === undefined ? undefined : tensors.entries.get(key);
      if (!entry || !sameShape(entry.shape, param.hfShape)) return 'deferred';
      preloaded.add(param.name);
      return fromHfLayout(param, tensors.read(entry.name));
    },
  };
}
