import Ajv, { type ValidateFunction } from 'ajv';
import attentionConfigSchema from './json/attention-config.schema.json';
import backendSettingsSchema from './json/backend-settings.schema.json';
import operatorSelectionSchema from './json/operator-selection.schema.json';
import pluginMetaSchema from './json/plugin-meta.schema.json';
import vitModelConfigSchema from './json/vit-model-config.schema.json';
import gptModelConfigSchema from './json/gpt-model-config.schema.json';
import llamaModelConfigSchema from './json/llama-model-config.schema.json';
import { toConfigIssues, type ConfigIssue } from './formatIssues';

/** The outcome of a validation: the value with defaults applied, or the issues. */
export interface ValidationResult<T = unknown> {
  readonly valid: boolean;
  /** A deep copy of the input with schema defaults filled in. */
  readonly value: T;
  readonly issues: readonly ConfigIssue[];
}

/** Every schema this package ships, by `$id`. More are added with `registerSchema`. */
const BUILT_IN = [operatorSelectionSchema, attentionConfigSchema, backendSettingsSchema, pluginMetaSchema, vitModelConfigSchema, gptModelConfigSchema, llamaModelConfigSchema];

let ajv: Ajv | null = null;
const compiled = new WeakMap<object, ValidateFunction>();

/** The shared ajv instance: allErrors, strict, defaults applied, verbose (for messages). */
export function getAjv(): Ajv {
  if (ajv === null) {
    ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true, verbose: true, allowUnionTypes: true });
    for (const schema of BUILT_IN) ajv.addSchema(schema);
  }
  return ajv;
}

/** Adds a schema with an `$id` (model configs from other packages) so others can `$ref` it. */
export function registerSchema(schema: { $id: string }): void {
  const a = getAjv();
  if (!a.getSchema(schema.$id)) a.addSchema(schema);
}

function compile(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    const id = (schema as { $id?: string }).$id;
    fn = (id && getAjv().getSchema(id)) || getAjv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Validates `data` against `schema` (a schema object, or the `$id` of a registered one).
 * Issue paths are prefixed with `basePath` (e.g. "/attention/options" for plugin options).
 *
 * @example const r = validateAgainst(plugin.optionsSchema, { m: 0 }, '/attention/options');
 */
export function validateAgainst<T = unknown>(schema: object | string, data: unknown, basePath = ''): ValidationResult<T> {
  const fn = typeof schema === 'string' ? getAjv().getSchema(schema) : compile(schema);
  if (!fn) throw new Error(`@swapformer/schemas: no schema registered with $id "${String(schema)}"`);
  const value = data === undefined ? undefined : structuredClone(data);
  const valid = fn(value) as boolean;
  return { valid, value: value as T, issues: valid ? [] : toConfigIssues(fn.errors ?? [], basePath) };
}
