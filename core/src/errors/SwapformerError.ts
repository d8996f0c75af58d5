/** What went wrong, as data: tests and callers branch on `kind`, never on message text. */
export type SwapformerErrorKind =
  | 'invalid-config'
  | 'invalid-options'
  | 'unknown-operator'
  | 'missing-capability'
  | 'duplicate-plugin'
  | 'incompatible-plugin'
  | 'invalid-plugin'
  | 'invalid-input'
  | 'non-finite-input'
  | 'operator-failed'
  | 'hook-failed'
  | 'backend-unavailable'
  | 'invalid-checkpoint'
  | 'invalid-data'
  | 'unsupported'
  | 'io';

const BRAND = Symbol.for('swapformer.error');

/** Where an error happened: the plugin, the layer, the hook tap, the file. */
export interface SwapformerErrorContext {
  plugin?: string;
  layer?: number;
  tap?: string;
  path?: string;
  cause?: unknown;
}

/**
 * The one error class of the project. Messages are multi-line: a headline naming the bad
 * value, then the valid choices and what to do next.
 */
export class SwapformerError extends Error {
  readonly kind: SwapformerErrorKind;
  readonly plugin?: string;
  readonly layer?: number;
  readonly tap?: string;
  readonly path?: string;
  readonly [BRAND] = true;

  constructor(kind: SwapformerErrorKind, message: string, context: SwapformerErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'SwapformerError';
    this.kind = kind;
    this.plugin = context.plugin;
    this.layer = context.layer;
    this.tap = context.tap;
    this.path = context.path;
  }

  /** True for errors thrown by any copy of this package (brand check, not instanceof). */
  static is(value: unknown): value is SwapformerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
