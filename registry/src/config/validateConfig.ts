import { formatIssues, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '@swapformer/core';
import type { OperatorRegistry } from '../registry/OperatorRegistry';
import { ATTENTION_CONFIG_KINDS, type ConfigKind } from './configKinds';
import { boundMessage, jsonValueProblems } from './jsonValueProblems';

export interface ValidatedConfig<T = Record<string, unknown>> {
  readonly kind: ConfigKind;
  /** The config with schema defaults applied. */
  readonly value: T;
}

/**
 * Recognises the kind of a config, validates it against its schema (every error with its JSON
 * path) and checks each operator selection against the installed plugins (unknown names,
 * option schemas, capabilities the place requires). Throws one `invalid-config` error listing
 * every problem found (at most 40 lines). Values JSON cannot hold (NaN, functions, cycles),
 * nesting deeper than 64 levels and oversized configs are refused before the schema runs.
 *
 * @example const { kind, value } = validateConfig(readJsonFile(file), registry);
 */
export function validateConfig<T = Record<string, unknown>>(config: unknown, registry: OperatorRegistry, kinds: readonly ConfigKind[] = ATTENTION_CONFIG_KINDS): ValidatedConfig<T> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SwapformerError('invalid-config', `a config must be a JSON object, got ${Array.isArray(config) ? 'an array' : config === null ? 'null' : typeof config}.`);
  }
  const shape = jsonValueProblems(config);
  if (shape.length > 0) {
    throw new SwapformerError('invalid-config', `a config must be plain JSON of bounded size:\n${shape.map((p) => `  ${p}`).join('\n')}`);
  }
  const kind = kinds.find((k) => k.matches(config as Record<string, unknown>));
  if (!kind) {
    throw new SwapformerError(
      'invalid-config',
      [`cannot tell what kind of config this is (top-level keys: ${Object.keys(config).join(', ') || 'none'}). Known kinds:`, ...kinds.map((k) => `  ${k.name}: ${k.description}`)].join('\n'),
    );
  }
  const result = validateAgainst<Record<string, unknown>>(kind.schema ?? kind.schemaId, config);
  if (!result.valid) {
    throw new SwapformerError('invalid-config', boundMessage(`invalid ${kind.name} config:\n${formatIssues(result.issues)}`));
  }
  try {
    kind.check?.(result.value);
  } catch (error) {
    if (!SwapformerError.is(error)) throw error;
    throw new SwapformerError('invalid-config', boundMessage(`invalid ${kind.name} config:\n  ${error.message.replace(/\n/g, '\n  ')}`), { path: error.path, cause: error });
  }
  const problems: string[] = [];
  for (const site of kind.selections(result.value)) {
    try {
      registry.resolve(site.selection, site.requirements, { path: site.path });
    } catch (error) {
      problems.push(`  at ${site.path}: ${(error as Error).message.replace(/\n/g, '\n  ')}`);
    }
  }
  if (problems.length > 0) {
    throw new SwapformerError('invalid-config', boundMessage(`invalid ${kind.name} config:\n${problems.join('\n')}`));
  }
  return { kind, value: result.value as T };
}
