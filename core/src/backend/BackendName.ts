/** The tfjs backends Swapformer knows how to start. */
export const BACKEND_NAMES = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** What callers may ask for: a backend, or `auto` (the best one available). */
export type BackendRequest = BackendName | 'auto';
