import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SyncHook, SyncWaterfallHook } from 'tapable';
import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionContext } from '../operator/AttentionOperator';
import type { OperatorCapabilities, PluginMeta } from '../plugin/OperatorCapabilities';

/** q, k, v as they go into an operator; `beforeAttention` taps may return replacements. */
export interface AttentionInputs {
  readonly q: Tensor4D;
  readonly k: Tensor4D;
  readonly v: Tensor4D;
}

/** Who is calling: the operator, the layer and the call context. */
export interface AttentionCallInfo {
  readonly operator: string;
  readonly layerIndex?: number;
  /** Model kind or name, when the call comes from a model graph. */
  readonly model?: string;
  readonly ctx: AttentionContext;
}

export interface PluginRegisteredEvent {
  readonly meta: PluginMeta;
  readonly packageName?: string;
  readonly replaced: boolean;
}

export interface OperatorResolvedEvent {
  readonly requested: string;
  readonly resolved: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly capabilities: OperatorCapabilities;
  readonly layerIndex?: number;
}

export interface ModelBuiltEvent {
  readonly model: string;
  /** Operator name per layer, in layer order. */
  readonly operators: readonly string[];
  /** Layers whose operator gets k/v repeated to the query heads (grouped-query attention it does not declare). */
  readonly repeatedKeyValueHeads?: readonly number[];
}

export interface FallbackEvent {
  readonly requested: string;
  readonly used: string;
  /** Why the requested operator could not be used. */
  readonly reasons: readonly string[];
  readonly layerIndex?: number;
}

/**
 * Every hook of the lifecycle, in one place. Tap with a name (it appears in profiles and error
 * messages); order with `stage` / `before`, never by registration order.
 */
export interface SwapformerHooks {
  /** After a plugin passed validation and was added to a registry. */
  readonly pluginRegistered: SyncHook<[PluginRegisteredEvent]>;
  /** After a selection was resolved to an operator (once per layer in a model graph). */
  readonly operatorResolved: SyncHook<[OperatorResolvedEvent]>;
  /** After a ViT/GPT graph was built. */
  readonly modelBuilt: SyncHook<[ModelBuiltEvent]>;
  /** Before each attention forward; a tap may return new q/k/v (waterfall). */
  readonly beforeAttention: SyncWaterfallHook<[AttentionInputs, AttentionCallInfo]>;
  /** After each attention forward; a tap may return a new output (waterfall). */
  readonly afterAttention: SyncWaterfallHook<[Tensor4D, AttentionCallInfo]>;
  /** When an explicit fallback policy replaced the requested operator. */
  readonly fallbackTaken: SyncHook<[FallbackEvent]>;
  /** When an operator, a hook tap or a resolution failed (the error is rethrown afterwards). */
  readonly error: SyncHook<[SwapformerError]>;
}

type AnyHook = { intercept(interceptor: { register?: (tap: { name: string; fn: (...a: unknown[]) => unknown }) => unknown }): void };

/** Wraps every tap so that a throwing tap is reported by name. */
function stampTapErrors(hookName: string, hook: AnyHook): void {
  hook.intercept({
    register(tap) {
      const fn = tap.fn;
      tap.fn = (...args: unknown[]) => {
        try {
          return fn(...args);
        } catch (error) {
          if (SwapformerError.is(error) && error.kind === 'hook-failed') throw error;
          const info = args[1] as AttentionCallInfo | undefined;
          const where = info?.layerIndex !== undefined ? ` (layer ${info.layerIndex}, operator "${info.operator}")` : '';
          throw new SwapformerError('hook-failed', `hook tap "${tap.name}" on ${hookName} threw${where}: ${(error as Error)?.message ?? String(error)}`, {
            tap: tap.name,
            layer: info?.layerIndex,
            cause: error,
          });
        }
      };
      return tap;
    },
  });
}

/** A fresh set of hooks (one per container). */
export function createSwapformerHooks(): SwapformerHooks {
  const hooks: SwapformerHooks = {
    pluginRegistered: new SyncHook(['event']),
    operatorResolved: new SyncHook(['event']),
    modelBuilt: new SyncHook(['event']),
    beforeAttention: new SyncWaterfallHook(['inputs', 'info']),
    afterAttention: new SyncWaterfallHook(['output', 'info']),
    fallbackTaken: new SyncHook(['event']),
    error: new SyncHook(['error']),
  };
  for (const [name, hook] of Object.entries(hooks)) {
    if (name !== 'error') stampTapErrors(name, hook as unknown as AnyHook);
  }
  return hooks;
}
