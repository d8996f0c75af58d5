import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { fastMatMulRegistration } from '@swapformer/kernels';
import { applyMatMulChoice, parseMatMulChoice } from '../../src/cli/matMulChoice';

describe('--matmul (applyMatMulChoice)', () => {
  before(function () {
    if (tf.getBackend() !== 'wasm') this.skip();
  });
  after(() => fastMatMulRegistration()?.undo());

  it('should register our GEMM once per thread count, and undo it for "tfjs"', () => {
    const original = tf.getKernel(tf.BatchMatMul, 'wasm');
    expect(applyMatMulChoice('wasm', 'swapformer', 2)).to.match(/swapformer GEMM/);
    const first = fastMatMulRegistration();
    expect(first).to.not.equal(null);
    applyMatMulChoice('wasm', 'swapformer', 2);
    expect(fastMatMulRegistration()).to.equal(first);
    applyMatMulChoice('wasm', 'swapformer', 1);
    expect(fastMatMulRegistration()?.threads).to.equal(1);
    expect(applyMatMulChoice('wasm', 'tfjs', 1)).to.equal('matmul: tfjs-wasm kernels');
    expect(fastMatMulRegistration()).to.equal(null);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).to.equal(original);
  });

  it('should refuse an unknown implementation, naming the choices', () => {
    expect(() => parseMatMulChoice('blas')).to.throw('--matmul must be one of swapformer, tfjs, got "blas".');
    expect(parseMatMulChoice(undefined)).to.equal('swapformer');
  });
});
