import { SwapformerError } from '@swapformer/core';
import { fastMatMulRegistration, registerFastMatMul } from '@swapformer/kernels';

/** Which matrix products the wasm backend runs: our multi-threaded SIMD GEMM, or tfjs-wasm's own. */
export type MatMulChoice = 'swapformer' | 'tfjs';
export const MATMUL_CHOICES: readonly MatMulChoice[] = ['swapformer', 'tfjs'];

/** The `--matmul` flag as commander's option arguments, for every command that starts a backend. */
export const MATMUL_FLAG = ['--matmul <impl>', 'matrix products on the wasm backend: "swapformer" (multi-threaded WebAssembly SIMD GEMM) or "tfjs" (tfjs-wasm\'s single-threaded kernels)', 'swapformer'] as const;

/** Parses `--matmul`, naming the value and the choices on error. */
export function parseMatMulChoice(raw: unknown): MatMulChoice {
  const text = String(raw ?? 'swapformer');
  if (!(MATMUL_CHOICES as readonly string[]).includes(text)) throw new SwapformerError('invalid-config', `--matmul must be one of ${MATMUL_CHOICES.join(', ')}, got "${text}".`);
  return text as MatMulChoice;
}

/**
 * Puts the wasm backend's products on `choice` (after the backend started); returns a line
 * saying what runs. Idempotent within a process: an existing registration with the same thread
 * count is kept, and "tfjs" undoes one.
 */
export function applyMatMulChoice(backend: string, choice: MatMulChoice, threads: number): string {
  const current = fastMatMulRegistration();
  if (backend !== 'wasm' || choice === 'tfjs') {
    current?.undo();
    return backend === 'wasm' ? 'matmul: tfjs-wasm kernels' : '';
  }
  if (current && current.threads === threads) return `matmul: swapformer GEMM, ${current.threads} thread(s)`;
  current?.undo();
  registerFastMatMul({ threads });
  return `matmul: swapformer GEMM, ${fastMatMulRegistration()?.threads ?? threads} thread(s)`;
}
