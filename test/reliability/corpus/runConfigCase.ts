/**
 * Runs one malformed config the way a user would hit it: through the file reader and
 * `validateConfig` (API), or through `swapformer validate` in a child process (CLI), and says
 * what is wrong with the outcome (empty when it is the expected clear error).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile, validateConfig, type OperatorRegistry } from '@swapformer/registry';
import { CONFIG_KINDS } from '@swapformer/cli';
import type { ProcessResult } from '../support/processes';
import { STACK_LINE } from '../support/processes';
import type { ExpectedError, MalformedCase } from './MalformedCase';

/** Longest acceptable message (lines) and time for one case; beyond that it counts as a failure. */
export const MAX_MESSAGE_LINES = 45;
export const MAX_CASE_MS = 10_000;

export interface CaseOutcome {
  readonly error?: unknown;
  readonly ms: number;
}

/** Writes a json/text case to `dir/<n>.json` (for the reader and the CLI). */
export function writeCaseFile(c: MalformedCase, dir: string, index: number): string {
  const file = path.join(dir, `case-${index}.json`);
  if (c.input.form === 'text') fs.writeFileSync(file, c.input.text);
  else fs.writeFileSync(file, JSON.stringify(c.input.value));
  return file;
}

/** API path: text cases go through readJsonFile, parsed JSON and in-memory values straight to validateConfig. */
export function runCaseApi(c: MalformedCase, registry: OperatorRegistry, dir: string, index: number): CaseOutcome {
  const started = Date.now();
  try {
    const config = c.input.form === 'text' ? readJsonFile(writeCaseFile(c, dir, index)) : c.input.value;
    validateConfig(config, registry, CONFIG_KINDS);
    return { ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/** Problems with an API outcome (empty = the expected clear error). */
export function checkApiOutcome(expect: ExpectedError, outcome: CaseOutcome, tensorsBefore: number): string[] {
  const problems: string[] = [];
  const { error } = outcome;
  if (error === undefined) return ['was accepted'];
  if (!SwapformerError.is(error)) return [`threw ${(error as Error)?.constructor?.name ?? typeof error}: ${String((error as Error)?.message ?? error).slice(0, 200)}`];
  if (error.kind !== expect.kind) problems.push(`kind ${error.kind}, expected ${expect.kind}`);
  for (const s of expect.includes) if (!error.message.includes(s)) problems.push(`message lacks ${JSON.stringify(s)}: ${JSON.stringify(error.message.slice(0, 300))}`);
  if (error.message.split('\n').length > MAX_MESSAGE_LINES) problems.push(`message has ${error.message.split('\n').length} lines`);
  if (outcome.ms > MAX_CASE_MS) problems.push(`took ${outcome.ms} ms`);
  if (tf.memory().numTensors !== tensorsBefore) problems.push(`left ${tf.memory().numTensors - tensorsBefore} tensors`);
  return problems;
}

/**
 * Problems with a CLI outcome: exit code 1, nothing on stdout, exactly one message on stderr
 * (prefixed `swapformer: error:` or, for usage errors, commander's `error:`; only
 * "[swapformer] ..." status lines may come before it), containing
 * `includes`, no stack trace, no hang.
 */
export function checkCliOutcome(r: ProcessResult, includes: string, usageError = false): string[] {
  const problems: string[] = [];
  if (r.timedOut) return [`hung (killed after ${r.ms} ms)`];
  // status lines such as "[swapformer] backend: wasm" may precede the error
  const stderr = r.stderr.replace(/^(\[swapformer\] [^\n]*\n)+/, '');
  if (r.code !== 1) problems.push(`exit code ${r.code}`);
  if (r.stdout !== '') problems.push(`wrote to stdout: ${JSON.stringify(r.stdout.slice(0, 100))}`);
  const prefix = usageError ? 'error: ' : 'swapformer: error: ';
  if (!stderr.startsWith(prefix)) problems.push(`stderr does not start with "${prefix}": ${JSON.stringify(r.stderr.slice(0, 200))}`);
  if (stderr.split(prefix).length - 1 !== 1) problems.push(`stderr holds ${stderr.split(prefix).length - 1} messages`);
  if (!stderr.includes(includes)) problems.push(`stderr lacks ${JSON.stringify(includes)}: ${JSON.stringify(r.stderr.slice(0, 300))}`);
  if (STACK_LINE.test(stderr)) problems.push('stderr holds a stack trace');
  return problems;
}

/** Operators the CLI sandbox has; option cases for others are API-only. */
const SANDBOX_OPERATORS = ['exact', 'local-window'];

/** Every 12th JSON/text case, and more of the categories where the file reader matters, go through the real CLI too. */
export function cliSample(cases: readonly MalformedCase[]): MalformedCase[] {
  return cases.filter((c, i) => {
    if (c.input.form === 'value') return false;
    if (c.category === 'config-operator-options' && !SANDBOX_OPERATORS.some((n) => c.title.startsWith(`${n}.`) || c.title.startsWith(`${n}:`))) return false;
    return i % 12 === 0 || ((c.category === 'config-deep-nesting' || c.category === 'config-syntax') && i % 3 === 0);
  });
}
