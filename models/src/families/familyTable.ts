import { SwapformerError } from '@swapformer/core';
import type { FamilyTable, ModelFamily } from './ModelFamily';

/** Lookups in a families table; the error for an unknown name lists the table's names. */

/** The family of a config's `"model"` value. */
export function familyNamed(table: FamilyTable, name: unknown): ModelFamily {
  const family = table.find((f) => f.name === name);
  if (!family) {
    throw new SwapformerError('invalid-config', `a model config needs "model" set to one of ${table.map((f) => JSON.stringify(f.name)).join(', ')}, got ${JSON.stringify(name)}.`, { path: '/model' });
  }
  return family;
}

/** Every architecture name the table reads, for messages. */
export function supportedArchitectures(table: FamilyTable): string[] {
  return table.flatMap((f) => [...f.hf.architectures]);
}

/**
 * The family of a `config.json`: by `model_type`, else (configs written by hand) by
 * `architectures[0]`. Unknown ones are refused naming every supported architecture.
 */
export function familyForHfConfig(table: FamilyTable, json: Record<string, unknown>, file: string): ModelFamily {
  const modelType = json.model_type;
  const architecture = Array.isArray(json.architectures) ? json.architectures[0] : undefined;
  if (architecture !== undefined && typeof architecture !== 'string') {
    throw new SwapformerError('invalid-checkpoint', `${file}: "architectures" must list names (strings), got ${JSON.stringify(architecture)?.slice(0, 80) ?? typeof architecture}.`, { path: file });
  }
  const family = table.find((f) => f.hf.modelTypes.includes(modelType as string)) ?? (modelType === undefined ? table.find((f) => f.hf.architectures.includes(architecture as string)) : undefined);
  if (!family) {
    const what = modelType !== undefined ? `model_type ${JSON.stringify(modelType)}${architecture !== undefined ? ` (architecture ${JSON.stringify(architecture)})` : ''}` : `architecture ${JSON.stringify(architecture)}`;
    throw new SwapformerError(
      'invalid-checkpoint',
      `${file}: ${what} is not supported.\n  Supported model types: ${table.flatMap((f) => f.hf.modelTypes).map((t) => `"${t}"`).join(', ')}.\n  Supported architectures: ${supportedArchitectures(table).join(', ')}.`,
      { path: file },
    );
  }
  return family;
}
