import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';

/** Helpers every family's `config.json` mapping shares. */

export type Json = Record<string, unknown>;

export function invalidHf(file: string, message: string): SwapformerError {
  return new SwapformerError('invalid-checkpoint', `${file}: ${message}`, { path: file });
}

/** Drops undefined and null fields, so schema defaults fill them. */
export const dropEmpty = <T extends Json>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

/** The `"swapformer"` block: what transformers does not know (attention selection, seed, …). */
export function swapformerBlock(json: Json): Json {
  return (typeof json.swapformer === 'object' && json.swapformer !== null ? json.swapformer : {}) as Json;
}

/** Normalizes with the family's rules, re-thrown as an error about the config file. */
export function configFromFile<C>(file: string, build: () => C): C {
  try {
    return build();
  } catch (error) {
    throw invalidHf(file, `the config does not describe a model this loader can build:\n${(error as Error).message}`);
  }
}

/** What a family's `fromHfConfig` understood. */
export interface HfDescription<C> {
  readonly config: C;
  /** The selection saved with the checkpoint (`swapformer.attention`), if any. */
  readonly attention?: AttentionSpec;
  readonly architecture: string;
}

/** `architectures[0]`, checked against the family's list (undefined when the config names none). */
export function namedArchitecture(file: string, json: Json, supported: readonly string[], modelType: string): string | undefined {
  const architectures = Array.isArray(json.architectures) ? (json.architectures as unknown[]) : [];
  const named = architectures[0];
  if (named === undefined) return undefined;
  if (typeof named !== 'string' || !supported.includes(named)) {
    throw invalidHf(file, `architecture ${JSON.stringify(named)} does not match model_type "${modelType}" (its architectures: ${supported.join(', ')}).`);
  }
  return named;
}
