import { SwapformerError } from '@swapformer/core';
import { type AttentionSpec, readJsonFile, validateConfig, type OperatorRegistry } from '@swapformer/registry';

/** The attention selection of `--operator <name>` or `--config <selection.json>` (neither: undefined). */
export function attentionFromFlags(opts: { operator?: string; config?: string }, registry: OperatorRegistry): AttentionSpec | undefined {
  if (opts.operator !== undefined && opts.config !== undefined) {
    throw new SwapformerError('invalid-config', 'give either --operator or --config, not both.');
  }
  if (opts.operator !== undefined) return { name: opts.operator };
  if (opts.config === undefined) return undefined;
  const { kind, value } = validateConfig<{ attention?: AttentionSpec }>(readJsonFile(opts.config), registry);
  if (!value.attention) throw new SwapformerError('invalid-config', `--config ${opts.config} is a ${kind.name} config without "attention".`);
  return value.attention;
}

/** Parses a number flag within [min, max], naming the flag and the value on error. */
export function parseNumberOption(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(raw);
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new SwapformerError('invalid-config', `${flag} must be a number from ${min} to ${max}, got "${text}".`);
  }
  return value;
}

/** The one switch, on every command that builds a model, for operators that are not drop-in for softmax weights. */
export const ALLOW_UNTRAINED_FLAG = '--allow-untrained-operators';
export const ALLOW_UNTRAINED_HELP = 'allow operators that are not drop-in replacements for softmax weights (their own parameters start untrained; for fine-tuning)';

/**
 * `--allow-untrained-operators`, or infer's old `--training` (read as "train", so renamed;
 * still accepted, with a warning, so existing scripts keep working).
 */
export function allowUntrainedOperators(opts: { allowUntrainedOperators?: boolean; training?: boolean }): boolean {
  if (opts.training) process.stderr.write(`[swapformer] warning: --training is deprecated; use ${ALLOW_UNTRAINED_FLAG} (same meaning).\n`);
  return Boolean(opts.allowUntrainedOperators || opts.training);
}
