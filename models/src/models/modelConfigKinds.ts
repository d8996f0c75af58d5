import { ATTENTION_CONFIG_KINDS, modelSelectionSites, type ConfigKind } from '@swapformer/registry';
import { BUILT_IN_FAMILIES } from '../families/builtInFamilies';
import type { FamilyTable } from '../families/ModelFamily';

/** The config kinds of a families table (one per family: schema, own checks, attention sites), in front of the registry's attention and backend kinds. */
export function modelConfigKinds(families: FamilyTable): ConfigKind[] {
  return [
    ...families.map(
      (family): ConfigKind => ({
        name: `${family.name}-model`,
        description: family.description,
        schemaId: family.schemaId,
        matches: (c) => c.model === family.name,
        check: (c) => void family.normalize(c),
        selections: (c) => modelSelectionSites(c, family.attentionLayers(c), family.requirements),
      }),
    ),
    ...ATTENTION_CONFIG_KINDS,
  ];
}

/** Model configs of the built-in families in front of the registry's attention and backend kinds. */
export const MODEL_CONFIG_KINDS: readonly ConfigKind[] = Object.freeze(modelConfigKinds(BUILT_IN_FAMILIES));
