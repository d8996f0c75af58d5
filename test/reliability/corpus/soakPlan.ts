/** The soak the reliability suite runs (docs/reliability.md reports these numbers). */

/** Forward passes per installed operator. */
export const SOAK_CALLS = 1000;
/** Small n: the soak is about resource stability, not speed. */
export const SOAK_SHAPE = { batch: 1, heads: 2, nq: 16, nk: 16, dk: 8 } as const;
/** Largest JS-heap growth allowed from call 100 to the last call, after full collections. */
export const SOAK_HEAP_BUDGET = 4 << 20;
/** Tokens generated in one go by a small GPT with the exact operator (kv-cache). */
export const SOAK_TOKENS = 1000;
