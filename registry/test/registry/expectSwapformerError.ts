import { expect } from 'chai';
import { SwapformerError } from '@swapformer/core';

/** The SwapformerError `fn` throws (fails the test when it throws anything else, or nothing). */
export function errorOf(fn: () => unknown): SwapformerError {
  try {
    fn();
  } catch (error) {
    expect(SwapformerError.is(error), String(error)).to.equal(true);
    return error as SwapformerError;
  }
  throw new Error('expected an error');
}
