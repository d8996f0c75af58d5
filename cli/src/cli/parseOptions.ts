import { SwapformerError } from '@swapformer/core';

/** Parses an integer CLI option within [min, max], with an error naming the flag and the value. */
export function parseIntegerOption(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(raw);
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new SwapformerError('invalid-config', `${flag} must be an integer from ${min} to ${max}, got "${text}".`);
  }
  return value;
}
