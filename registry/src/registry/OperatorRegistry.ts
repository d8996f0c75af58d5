import type { AttentionOperator, AttentionPlugin, OperatorCapabilities, OperatorGeometry, OperatorRequirements, OperatorServices, PluginMeta, SwapformerHooks } from '@swapformer/core';

/** A registered plugin and where it came from. */
export interface PluginRecord {
  readonly meta: PluginMeta;
  /** With default options; a resolved selection's may differ (`ResolvedOperator.capabilities`). */
  readonly capabilities: OperatorCapabilities;
  readonly optionsSchema: Readonly<Record<string, unknown>>;
  /** npm package it was loaded from (absent for plugins registered in code). */
  readonly packageName?: string;
  readonly plugin: AttentionPlugin;
}

/** `{"name": ..., "options": {...}}` — what configs say. */
export interface OperatorSelection {
  readonly name: string;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly fallback?: { readonly policy: 'warn' | 'allow'; readonly order: readonly string[] };
}

/**
 * A selection made with the plugin object itself, so its options are checked at compile time
 * against the plugin's options type (derived from its schema) — `{ plugin: performerPlugin,
 * options: { m: 256 } }` does not compile — and at run time against the registered schema, as a
 * selection by name is. The plugin is looked up by `plugin.meta.name`.
 */
export interface PluginSelection<Options> {
  readonly plugin: AttentionPlugin<Options>;
  readonly options?: Partial<NoInfer<Options>>;
  readonly fallback?: OperatorSelection['fallback'];
}

/** Where a resolution happens, for error messages and hook events. */
export interface ResolveContext {
  readonly layerIndex?: number;
  /** JSON path of the selection in its config (e.g. "/attention/overrides/0"). */
  readonly path?: string;
  /** Model kind, for messages ("GPT", "ViT"). */
  readonly model?: string;
}

/** A selection resolved to a plugin with validated options (defaults applied). */
export interface ResolvedOperator<Options = Record<string, unknown>> {
  readonly name: string;
  readonly plugin: AttentionPlugin;
  readonly options: Readonly<Options>;
  /** The capabilities with these options (the plugin's `capabilitiesFor(options)` where it has one). */
  readonly capabilities: OperatorCapabilities;
  /** Set when an explicit fallback policy replaced the requested operator. */
  readonly fallbackFrom?: string;
  /** A new operator instance for one layer. */
  create(geometry: OperatorGeometry): AttentionOperator;
}

export interface RegisterOptions {
  readonly packageName?: string;
  /** Replace an already registered plugin of the same name (otherwise that is an error). */
  readonly replace?: boolean;
}

/** The operator registry, scoped to one container. */
export interface OperatorRegistry {
  readonly hooks: SwapformerHooks;
  readonly services: OperatorServices;
  register(plugin: AttentionPlugin, options?: RegisterOptions): PluginRecord;
  has(name: string): boolean;
  get(name: string): PluginRecord;
  list(): PluginRecord[];
  /** Typed by the plugin: `resolve({ plugin: performerPlugin, options: { features: 256 } })`; `options` is `PerformerOptions`. */
  resolve<Options>(selection: PluginSelection<Options>, requirements?: OperatorRequirements, context?: ResolveContext): ResolvedOperator<Options>;
  resolve(selection: OperatorSelection | string, requirements?: OperatorRequirements, context?: ResolveContext): ResolvedOperator;
}
