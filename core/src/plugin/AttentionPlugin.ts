import type { AttentionOperator, OperatorGeometry } from '../operator/AttentionOperator';
import type { OperatorServices } from '../container/OperatorServices';
import type { OperatorCapabilities, PluginMeta } from './OperatorCapabilities';

/**
 * A JSON Schema (draft 2020-12 / draft-07 subset accepted by ajv in strict mode) describing an
 * operator's options: `type: 'object'`, `additionalProperties: false`, a `default` and a
 * `description` on every property.
 */
export type OptionsSchema = Readonly<Record<string, unknown>>;

/**
 * An attention plugin: what an npm package `@swapformer/plugin-<name>` exports by name
 * (package.json `"swapformer": {"plugin": "<exportName>"}`). Importing it activates nothing:
 * it is registered explicitly or through discovery.
 */
export interface AttentionPlugin<Options = Record<string, unknown>> {
  readonly meta: PluginMeta;
  readonly optionsSchema: OptionsSchema;
  /** What the operator can do with its default options (what `swapformer list` shows). */
  readonly capabilities: OperatorCapabilities;
  /**
   * Optional (operator API 2.1): the capabilities of an operator created with `options`
   * (validated, defaults applied), for plugins whose options change them — Performer's learned
   * feature map owns untrained parameters, so it is no drop-in where FAVOR+ is. Resolution checks
   * requirements against this; without it, `capabilities` hold for every option.
   */
  capabilitiesFor?(options: Options): OperatorCapabilities;
  /**
   * Builds one operator instance. `options` have been validated against `optionsSchema` with
   * defaults applied; `geometry` is the layer's shape.
   */
  create(options: Options, services: OperatorServices, geometry: OperatorGeometry): AttentionOperator;
  /**
   * Optional: how many key–value pairs each query effectively attends to at sequence length `n`
   * (a coreset size, a top-k budget), for operators whose accuracy needs n ≫ that budget.
   * Callers use it to warn where a swap cannot work well (Thinformer on a 50-token layer);
   * null when it depends on the data. Operators that see every key leave it out.
   */
  keysPerQuery?(options: Options, n: number): number | null;
}
