/**
 * Runs one malformed attention call against one operator the way a model layer does
 * (registry → create → runAttention), checking the error, the operator named in it and leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { runAttention, SwapformerError } from '@swapformer/core';
import type { OperatorRegistry } from '@swapformer/registry';
import { disposeCall, INPUT_GEOMETRY, type InputCase } from './inputCorpus';

export interface InputOutcome {
  readonly problems: string[];
  readonly error?: unknown;
}

/** Runs one case against one operator: what it threw, and what is wrong with that (no problems = as expected). */
export function runInputCase(registry: OperatorRegistry, name: string, c: InputCase): InputOutcome {
  const before = tf.memory().numTensors;
  const resolved = registry.resolve({ name });
  const problems: string[] = [];
  let caught: unknown;
  let output: Tensor4D | undefined;
  let call: ReturnType<NonNullable<InputCase['build']>> | undefined;
  let operator: ReturnType<typeof resolved.create> | undefined;
  try {
    operator = resolved.create(c.geometry ?? INPUT_GEOMETRY);
    if (c.build) {
      call = c.build();
      output = runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: 0 }, call.q as Tensor4D, call.k as Tensor4D, call.v as Tensor4D, call.ctx);
    }
  } catch (error) {
    caught = error;
  }
  if (c.expect) {
    if (caught === undefined) problems.push('was accepted');
    else if (!SwapformerError.is(caught)) problems.push(`threw ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
    else {
      const kinds: readonly string[] = typeof c.expect.kind === 'string' ? [c.expect.kind] : c.expect.kind;
      const matches = typeof c.expect.includes === 'string' ? caught.message.includes(c.expect.includes) : c.expect.includes.test(caught.message);
      if (!kinds.includes(caught.kind)) problems.push(`kind ${caught.kind}, expected ${kinds.join(' or ')}: ${caught.message}`);
      if (!matches) problems.push(`message lacks ${String(c.expect.includes)}: ${caught.message}`);
      if (!caught.message.includes(`"${name}"`)) problems.push(`message does not name the operator: ${caught.message}`);
    }
  } else if (caught !== undefined) {
    // an edge case an operator cannot serve must still be a clear refusal
    if (!SwapformerError.is(caught) || !['invalid-input', 'unsupported'].includes(caught.kind)) problems.push(`failed: ${(caught as Error)?.message}`);
  } else if (output) {
    const call2 = call!;
    const expected = [call2.q.shape[0], call2.q.shape[1], call2.q.shape[2], call2.v.shape[3]];
    if (JSON.stringify(output.shape) !== JSON.stringify(expected)) problems.push(`output shape [${output.shape}] ≠ [${expected}]`);
    if (!Array.from(output.dataSync()).every(Number.isFinite)) problems.push('output is not finite');
  }
  output?.dispose();
  if (call) disposeCall(call);
  operator?.dispose();
  if (tf.memory().numTensors !== before) problems.push(`leaked ${tf.memory().numTensors - before} tensors`);
  return { problems, error: caught };
}
