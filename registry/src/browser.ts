/**
 * The registry without Node: resolution by name and attention selections, for bundlers and
 * pages (the `browser` condition of `@swapformer/registry`). Plugins are registered explicitly
 * there (`registry.register(plugin)`); discovery in node_modules and JSON files on disk are in
 * `@swapformer/registry/node`.
 */
export { createOperatorRegistry } from './registry/createOperatorRegistry';
export type { OperatorRegistry, OperatorSelection, PluginRecord, PluginSelection, RegisterOptions, ResolveContext, ResolvedOperator } from './registry/OperatorRegistry';
export { didYouMean } from './registry/didYouMean';
export { attentionSelections, selectionForLayer } from './config/attentionSelections';
export type { AttentionSpec, LayerOverride, LayerSet } from './config/attentionSelections';
export { ATTENTION_CONFIG_KINDS, modelSelectionSites } from './config/configKinds';
export type { ConfigKind, SelectionSite } from './config/configKinds';
export { validateConfig } from './config/validateConfig';
export type { ValidatedConfig } from './config/validateConfig';
