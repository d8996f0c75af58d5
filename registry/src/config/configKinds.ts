import { SCHEMA_IDS } from '@swapformer/schemas';
import type { OperatorRequirements } from '@swapformer/core';
import type { OperatorSelection } from '../registry/OperatorRegistry';
import { attentionSelections, selectionForLayer, type AttentionSpec } from './attentionSelections';

/** A selection inside a config, where it is, and what the place requires of it. */
export interface SelectionSite {
  readonly selection: OperatorSelection;
  readonly path: string;
  readonly requirements: OperatorRequirements;
}

/** A kind of Swapformer config file: how to recognise it and which schema checks it. */
export interface ConfigKind {
  readonly name: string;
  readonly description: string;
  readonly schemaId: string;
  /** The schema itself, for kinds whose schema is not one of @swapformer/schemas' built-ins. */
  readonly schema?: object;
  matches(config: Record<string, unknown>): boolean;
  /** The operator selections it contains (their options are checked against the plugins). */
  selections(config: Record<string, unknown>): SelectionSite[];
  /**
   * Checks a schema cannot express (a width the heads must divide, sizes that together would not
   * fit in memory), run on the schema-valid config with defaults; throws `invalid-config`.
   */
  check?(config: Record<string, unknown>): void;
}

const onlyKeys = (config: Record<string, unknown>, keys: readonly string[]) => Object.keys(config).every((k) => keys.includes(k));

/**
 * The config kinds the registry itself understands: operator selections and backend settings.
 * Model families and the CLI's run/train configs add their kinds in front of these
 * (`validateConfig(config, registry, kinds)`).
 */
export const ATTENTION_CONFIG_KINDS: readonly ConfigKind[] = [
  {
    name: 'attention',
    description: 'operator selection: {"attention": {"name": ..., "options": {...}}} or a default with per-layer overrides',
    schemaId: SCHEMA_IDS.attentionConfig,
    matches: (c) => 'attention' in c && !('model' in c),
    selections: (c) => attentionSelections(c.attention as AttentionSpec).map((s) => ({ ...s, requirements: {} })),
  },
  {
    name: 'backend',
    description: 'backend settings: {"backend": "wasm" | "cpu" | "webgpu" | "tensorflow" | "auto"}',
    schemaId: SCHEMA_IDS.backendSettings,
    matches: (c) => 'backend' in c && onlyKeys(c, ['$schema', 'backend']),
    selections: () => [],
  },
];

/** One site per distinct selection a model's layers use, with what the model requires of it. */
export function modelSelectionSites(config: Record<string, unknown>, numLayers: number, requirements: OperatorRequirements): SelectionSite[] {
  if (!config.attention) return [];
  const sites = new Map<string, SelectionSite>();
  for (let i = 0; i < numLayers; i++) {
    const { selection, path } = selectionForLayer(config.attention as AttentionSpec, i, numLayers);
    if (!sites.has(path)) sites.set(path, { selection, path, requirements });
  }
  return [...sites.values()];
}
