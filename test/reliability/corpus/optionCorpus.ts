/**
 * Operator options out of range, generated from each installed plugin's own optionsSchema:
 * for every property, values below `minimum`, above `maximum`, non-integers for integers, values
 * outside an `enum`, wrong JSON types, and (API only) NaN/±Infinity. A candidate is kept only if
 * the schema itself rejects it, so the corpus follows the plugins as they change.
 */
import { validateAgainst } from '@swapformer/schemas';
import type { AttentionPlugin } from '@swapformer/core';
import { caseCollector, type MalformedCase } from './MalformedCase';

interface PropertySchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
}

/** Candidate bad values for one property, with a short label each. */
function candidates(schema: PropertySchema): Array<[string, unknown]> {
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type as string];
  const numeric = types.includes('integer') || types.includes('number');
  const out: Array<[string, unknown]> = [];
  if (numeric) {
    if (schema.minimum !== undefined) out.push(['minimum − 1', schema.minimum - 1]);
    if (schema.exclusiveMinimum !== undefined) out.push(['at the exclusive minimum', schema.exclusiveMinimum]);
    if (schema.maximum !== undefined) out.push(['maximum + 1', schema.maximum + 1]);
    if (schema.exclusiveMaximum !== undefined) out.push(['at the exclusive maximum', schema.exclusiveMaximum]);
    if (schema.minimum !== undefined || schema.exclusiveMinimum !== undefined) out.push(['-1e308', -1e308]);
    if (schema.maximum !== undefined || schema.exclusiveMaximum !== undefined) out.push(['1e308', 1e308]);
    if (types.includes('integer') && !types.includes('number')) out.push(['a non-integer', (schema.minimum ?? 0) + 1.5]);
    out.push(['a numeric string', '3'], ['an array', [1]]);
  }
  if (schema.enum) out.push(['a value outside the enum', 'definitely-not-a-choice'], ['a number for an enum', 7]);
  if (types.includes('boolean')) out.push(['a string for a boolean', 'true'], ['a number for a boolean', 1]);
  if (types.includes('string') && !schema.enum) out.push(['a number for a string', 1]);
  out.push(['null', null], ['an object', { value: 1 }]);
  return out;
}

/**
 * Option cases for every plugin (`config-operator-options`, JSON) and non-finite numbers for its
 * numeric options (`config-non-finite-options`, API only).
 *
 * @example optionCorpus(registry.list().map((r) => r.plugin))
 */
export function optionCorpus(plugins: readonly AttentionPlugin[]): MalformedCase[] {
  const options = caseCollector('config-operator-options');
  const nonFinite = caseCollector('config-non-finite-options');
  for (const plugin of plugins) {
    const name = plugin.meta.name;
    const properties = ((plugin.optionsSchema as { properties?: Record<string, PropertySchema> }).properties ?? {}) as Record<string, PropertySchema>;
    options.add(`${name}: unknown option`, { form: 'json', value: { attention: { name, options: { definitelyNotAnOption: 1 } } } }, { kind: 'invalid-config', includes: [`invalid options for operator "${name}"`, 'at /attention/options/definitelyNotAnOption: unknown key'] });
    options.add(`${name}: bad option in an override`, { form: 'json', value: { attention: { default: { name: 'exact' }, overrides: [{ layers: [0], name, options: { definitelyNotAnOption: 1 } }] } } }, { kind: 'invalid-config', includes: ['at /attention/overrides/0/options/definitelyNotAnOption: unknown key'] });
    for (const [key, schema] of Object.entries(properties)) {
      for (const [label, bad] of candidates(schema)) {
        if (validateAgainst(plugin.optionsSchema, { [key]: bad }).valid) continue; // not actually invalid for this schema
        options.add(`${name}.${key}: ${label}`, { form: 'json', value: { attention: { name, options: { [key]: bad } } } }, { kind: 'invalid-config', includes: [`invalid options for operator "${name}"`, `at /attention/options/${key}: `] });
      }
      const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
      if (types.includes('integer') || types.includes('number')) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          nonFinite.add(`${name}.${key}: ${bad}`, { form: 'value', value: { attention: { name, options: { [key]: bad } } } }, { kind: 'invalid-config', includes: [`at /attention/options/${key}: ${bad} is not a JSON number`] });
        }
      }
    }
  }
  return [...options.cases, ...nonFinite.cases];
}
