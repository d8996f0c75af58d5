import { assertApiCompatible } from '../apiVersion';
import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionPlugin } from './AttentionPlugin';

/** Plugin names: kebab-case, 2–40 characters, starting with a letter. */
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

const CAPABILITY_VALUES: Record<string, readonly unknown[]> = {
  causal: ['native', 'none'],
  keyPaddingMask: [true, false],
  decoding: ['none', 'kv-cache', 'recurrent-state'],
  trainableParameters: [true, false],
  randomness: ['deterministic', 'seeded'],
  dropInForPretrained: [true, false],
  projections: ['qkv', 'q-only'],
  mixesHeads: [true, false],
  crossAttention: [true, false],
};

/**
 * Structural check of a plugin object before registration: meta, API version, capabilities
 * and the options schema's outer shape. Throws `invalid-plugin` / `incompatible-plugin`.
 */
export function validatePlugin(plugin: unknown, origin = 'plugin'): asserts plugin is AttentionPlugin {
  const fail = (why: string): never => {
    throw new SwapformerError('invalid-plugin', `${origin} is not a valid Swapformer plugin: ${why}`);
  };
  if (typeof plugin !== 'object' || plugin === null) fail(`expected an object, got ${plugin === null ? 'null' : typeof plugin}`);
  const p = plugin as Partial<AttentionPlugin>;
  const meta = p.meta;
  if (!meta || typeof meta !== 'object') fail('missing meta {name, version, apiVersion, description}');
  const name = String(meta!.name);
  if (typeof meta!.name !== 'string' || !PLUGIN_NAME_PATTERN.test(name) || name.length > 40) {
    fail(`meta.name "${name}" must be kebab-case (e.g. "performer", "local-window")`);
  }
  for (const field of ['version', 'apiVersion', 'description'] as const) {
    if (typeof meta![field] !== 'string' || meta![field].length === 0) fail(`meta.${field} of "${name}" must be a non-empty string`);
  }
  assertApiCompatible(name, meta!.apiVersion);
  if (typeof p.create !== 'function') fail(`"${name}" has no create(options, services, geometry) function`);
  const schema = p.optionsSchema as Record<string, unknown> | undefined;
  if (!schema || schema.type !== 'object' || schema.additionalProperties !== false) {
    fail(`"${name}".optionsSchema must be a JSON Schema with type "object" and additionalProperties: false`);
  }
  if (p.capabilitiesFor !== undefined && typeof p.capabilitiesFor !== 'function') fail(`"${name}".capabilitiesFor must be a function (options) => capabilities, or absent`);
  const problem = capabilityProblem(p.capabilities, `"${name}".capabilities`);
  if (problem) fail(problem);
}

/**
 * What is wrong with a capabilities object (`where` names it in the message), or null when
 * every field holds an allowed value.
 */
export function capabilityProblem(capabilities: unknown, where: string): string | null {
  const caps = capabilities as Record<string, unknown> | undefined;
  if (!caps || typeof caps !== 'object') return `${where} is not a capabilities object`;
  for (const [key, allowed] of Object.entries(CAPABILITY_VALUES)) {
    if (!allowed.includes(caps[key])) return `${where}.${key} is ${JSON.stringify(caps[key])}; allowed: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  }
  if (caps.groupedKeyValues !== undefined && typeof caps.groupedKeyValues !== 'boolean') return `${where}.groupedKeyValues is ${JSON.stringify(caps.groupedKeyValues)}; allowed: true, false (or absent)`;
  if (!Array.isArray(caps.testedBackends)) return `${where}.testedBackends must be an array of backend names`;
  return null;
}
