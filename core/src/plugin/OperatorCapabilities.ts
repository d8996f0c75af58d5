/**
 * What a plugin is and what its operators can do, as data: kept apart from the plugin
 * interface so the hooks can name them without importing the services the plugin receives.
 */
import type { BackendName } from '../backend/BackendName';

/** Identity of a plugin. `name` is kebab-case and equals the npm suffix `@swapformer/plugin-<name>`. */
export interface PluginMeta {
  readonly name: string;
  /** The plugin package's own version. */
  readonly version: string;
  /** The core operator-API version the plugin was written for (checked at registration). */
  readonly apiVersion: string;
  readonly description: string;
  /** Paper or reference implementation the plugin follows. */
  readonly reference?: string;
}

/** How an operator supports causal (autoregressive) masking. */
export type CausalSupport = 'native' | 'none';
/** How an operator supports incremental decoding. */
export type DecodingSupport = 'none' | 'kv-cache' | 'recurrent-state';

/**
 * What an operator can do, as data. The registry checks these against what a model graph
 * needs and explains every refusal (xformers' `not_supported_reasons`, made declarative).
 */
export interface OperatorCapabilities {
  /** `native`: the operator applies the causal mask itself (exactly or by construction). */
  readonly causal: CausalSupport;
  /** Whether `ctx.mask` (key padding) is honoured. */
  readonly keyPaddingMask: boolean;
  /** Incremental decoding through `operator.decoder`. */
  readonly decoding: DecodingSupport;
  /** The operator owns parameters that must be trained (not a pure function of q, k, v). */
  readonly trainableParameters: boolean;
  /** Deterministic, or randomized and reproducible from a seed. */
  readonly randomness: 'deterministic' | 'seeded';
  /** Backends the plugin's test suite runs on. */
  readonly testedBackends: readonly BackendName[];
  /** True if it can replace softmax attention in a model trained with softmax, keeping the weights. */
  readonly dropInForPretrained: boolean;
  /** `qkv`: needs all three projections; `q-only`: one projection (TOST's W_in), k and v unused. */
  readonly projections: 'qkv' | 'q-only';
  /** The output of a head depends on other heads (TOST's Π soft-assignment). */
  readonly mixesHeads: boolean;
  /** Supports nq ≠ nk (cross-attention, kv-cache queries). */
  readonly crossAttention: boolean;
  /**
   * Takes k and v with fewer heads than q (grouped-query / multi-query attention: q head i reads
   * k/v head floor(i / (h / kvHeads))) and its decoder keeps only the k/v heads. Absent or false:
   * the model repeats k/v to the query heads before calling it (and records that it did).
   */
  readonly groupedKeyValues?: boolean;
}
