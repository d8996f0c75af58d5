import type { SwapformerContainer as Container } from '@swapformer/core';
import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { createSwapformerContainer, instantiateOperator, operatorCapabilities, resolveOptions, resolveOperatorServices, SERVICE_IDS, SwapformerError, unmetRequirements, validatePlugin, type AttentionPlugin, type OperatorRequirements } from '@swapformer/core';
import { didYouMean } from './didYouMean';
import type { OperatorRegistry, OperatorSelection, PluginRecord, PluginSelection, RegisterOptions, ResolveContext, ResolvedOperator } from './OperatorRegistry';

function where(context: ResolveContext): string {
  const parts = [context.model, context.layerIndex === undefined ? undefined : `layer ${context.layerIndex}`, context.path ? `config ${context.path}` : undefined].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A selection by plugin object as the selection by name it stands for. */
function pluginSelection(selection: PluginSelection<unknown>): OperatorSelection {
  const name = (selection.plugin as { meta?: { name?: unknown } } | null)?.meta?.name;
  if (typeof name !== 'string') throw new SwapformerError('invalid-input', 'resolve({ plugin }): plugin must be an attention plugin object with meta.name (e.g. performerPlugin).');
  return { name, ...(selection.options === undefined ? {} : { options: selection.options as Record<string, unknown> }), ...(selection.fallback === undefined ? {} : { fallback: selection.fallback }) };
}

/**
 * Creates an operator registry bound into `container` (a fresh container by default) under
 * `SERVICE_IDS.Registry`. Nothing is registered implicitly: call `register`, or
 * `registerInstalledPlugins` (installed packages, or an explicit `plugins` list).
 *
 * @example
 * const registry = createOperatorRegistry();
 * registry.register(exactPlugin);
 * const op = registry.resolve({ name: 'exact' }, { causal: true }).create({ heads: 4, headDim: 64 });
 */
export function createOperatorRegistry(container: Container = createSwapformerContainer()): OperatorRegistry {
  const services = resolveOperatorServices(container);
  const { hooks } = services;
  const records = new Map<string, PluginRecord>();

  const installedNames = () => [...records.keys()].sort();

  const unknown = (name: string, context: ResolveContext): SwapformerError => {
    const installed = installedNames();
    const suggestion = didYouMean(name, installed);
    return new SwapformerError(
      'unknown-operator',
      [
        `unknown attention operator "${name}"${where(context)}.`,
        `  Installed operators: ${installed.length ? installed.join(', ') : '(none registered)'}.`,
        suggestion ? `  Did you mean "${suggestion}"?` : undefined,
        `  If "${name}" is a plugin, install it: npm install @swapformer/plugin-${name}`,
      ]
        .filter(Boolean)
        .join('\n'),
      { path: context.path },
    );
  };

  const get = (name: string, context: ResolveContext = {}): PluginRecord => {
    const record = records.get(name);
    if (!record) throw unknown(name, context);
    return record;
  };

  const fail = (error: SwapformerError): never => {
    try {
      hooks.error.call(error);
    } catch {
      // the original error matters more than a failing error tap
    }
    throw error;
  };

  const registry: OperatorRegistry = {
    hooks,
    services,
    register(plugin: AttentionPlugin, options: RegisterOptions = {}): PluginRecord {
      const origin = options.packageName ? `package "${options.packageName}"` : 'plugin';
      validatePlugin(plugin, origin);
      const name = plugin.meta.name;
      try {
        // compile the options schema now (as discovery does), so a broken one is refused here, by name
        resolveOptions(plugin, {});
      } catch (error) {
        if (!SwapformerError.is(error)) {
          throw new SwapformerError('invalid-plugin', `${origin} "${name}" has an optionsSchema that does not compile: ${(error as Error)?.message ?? String(error)}`, { plugin: name, cause: error });
        }
      }
      const existing = records.get(name);
      if (existing && !options.replace) {
        fail(
          new SwapformerError(
            'duplicate-plugin',
            `operator "${name}" is already registered (from ${existing.packageName ?? 'code'}); ${options.packageName ?? 'this plugin'} registers the same name.\n  Pass { replace: true } to replace it on purpose.`,
            { plugin: name },
          ),
        );
      }
      const record: PluginRecord = { meta: plugin.meta, capabilities: plugin.capabilities, optionsSchema: plugin.optionsSchema, packageName: options.packageName, plugin };
      records.set(name, record);
      try {
        hooks.pluginRegistered.call({ meta: plugin.meta, packageName: options.packageName, replaced: existing !== undefined });
      } catch (error) {
        // all or nothing: when register throws, the registry is as it was before the call
        if (existing) records.set(name, existing);
        else records.delete(name);
        throw error;
      }
      return record;
    },
    has: (name) => records.has(name),
    get: (name) => get(name),
    list: () => installedNames().map((n) => records.get(n)!),
    // one implementation for both overloads: the typed one only adds compile-time checks, the
    // options are the schema-validated record either way
    resolve: ((selectionOrName: OperatorSelection | PluginSelection<unknown> | string, requirements: OperatorRequirements = {}, context: ResolveContext = {}): ResolvedOperator => {
      const selection: OperatorSelection = typeof selectionOrName === 'string' ? { name: selectionOrName } : 'plugin' in selectionOrName ? pluginSelection(selectionOrName) : selectionOrName;
      const checked = validateAgainst<OperatorSelection>(SCHEMA_IDS.operatorSelection, selection, context.path ?? '');
      if (!checked.valid) {
        fail(new SwapformerError('invalid-config', `invalid operator selection${where(context)}:\n${formatIssues(checked.issues)}`, { path: context.path }));
      }
      const requested = get(selection.name, context);
      const optionsPath = `${context.path ?? ''}/options`;
      /** Options resolved against the plugin's schema (an invalid-config error names the bad one). */
      const resolvedFor = (r: PluginRecord, given: Record<string, unknown>): Record<string, unknown> => {
        try {
          return resolveOptions(r.plugin, given, optionsPath) as Record<string, unknown>;
        } catch (error) {
          return fail(error as SwapformerError);
        }
      };
      // capabilities follow the options where the plugin says how (capabilitiesFor); fallbacks run with defaults
      const unmetWithDefaults = (name: string) => unmetRequirements(operatorCapabilities(records.get(name)!.plugin, resolvedFor(records.get(name)!, {})), requirements);
      let record = requested;
      let resolvedOptions = resolvedFor(requested, { ...(selection.options ?? {}) });
      let capabilities = operatorCapabilities(requested.plugin, resolvedOptions);
      const reasons = unmetRequirements(capabilities, requirements);
      let fallbackFrom: string | undefined;
      if (reasons.length > 0) {
        const candidates = selection.fallback?.order ?? [];
        const usable = candidates.find((name) => records.has(name) && unmetWithDefaults(name).length === 0);
        if (!selection.fallback || usable === undefined) {
          const fitting = installedNames().filter((n) => unmetWithDefaults(n).length === 0);
          fail(
            new SwapformerError(
              'missing-capability',
              [
                `operator "${selection.name}"${selection.options && Object.keys(selection.options).length ? ` with options ${JSON.stringify(selection.options)}` : ''} cannot be used here${where(context)}: it lacks`,
                ...reasons.map((r) => `  - ${r}`),
                selection.fallback ? `  None of the fallback operators fits either: ${candidates.join(', ')}.` : undefined,
                `  Operators installed here that fit: ${fitting.length ? fitting.join(', ') : '(none)'}.`,
              ]
                .filter(Boolean)
                .join('\n'),
              { plugin: selection.name, layer: context.layerIndex, path: context.path },
            ),
          );
        }
        record = records.get(usable!)!;
        resolvedOptions = resolvedFor(record, {});
        capabilities = operatorCapabilities(record.plugin, resolvedOptions);
        fallbackFrom = selection.name;
        hooks.fallbackTaken.call({ requested: selection.name, used: record.meta.name, reasons, layerIndex: context.layerIndex });
        if (selection.fallback!.policy === 'warn') {
          services.logger.warn(`fallback${where(context)}: "${selection.name}" replaced by "${record.meta.name}" because it lacks: ${reasons.join('; ')}`);
        }
      }
      hooks.operatorResolved.call({ requested: selection.name, resolved: record.meta.name, options: resolvedOptions, capabilities, layerIndex: context.layerIndex });
      const plugin = record.plugin;
      return {
        name: record.meta.name,
        plugin,
        options: resolvedOptions,
        capabilities,
        fallbackFrom,
        create: (geometry) => instantiateOperator(plugin, resolvedOptions, services, { ...geometry, layerIndex: geometry.layerIndex ?? context.layerIndex }, optionsPath),
      };
    }) as OperatorRegistry['resolve'],
  };
  container.bind(SERVICE_IDS.Registry).toConstantValue(registry);
  return registry;
}
