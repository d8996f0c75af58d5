import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { runWebGpuProgram, type WebGpuProgramSpec } from '@swapformer/kernels';

// The dispatch itself is covered on webgpu (lavapipe in CI) by the plugins' WGSL paths in
// test/integration/webgpuBackend.test.ts; here: the checks that run before it.
describe('runWebGpuProgram', () => {
  const spec: WebGpuProgramSpec = {
    variableNames: ['X'],
    outputShape: [4],
    shaderKey: 'swapformerTestCopy',
    dispatch: [1, 1, 1],
    workgroupSize: [4, 1, 1],
    getUserCode: () => 'fn main(index : i32) { result[i32(localIndex)] = X[i32(localIndex)]; }',
  };

  it('should refuse a backend other than webgpu, naming the program and the active backend', () => {
    const x = tf.zeros([4]);
    expect(() => runWebGpuProgram(spec, [x])).to.throw(`runWebGpuProgram(swapformerTestCopy): needs the webgpu backend, the active one is "${tf.getBackend()}"`);
    x.dispose();
  });

  it('should refuse inputs that do not match the program\'s variables, naming them', () => {
    const [x, ids] = [tf.zeros([4]), tf.zeros([4], 'int32')];
    expect(() => runWebGpuProgram(spec, [x, x])).to.throw('runWebGpuProgram(swapformerTestCopy): 2 inputs for 1 variables (X)');
    expect(() => runWebGpuProgram(spec, [ids])).to.throw('runWebGpuProgram(swapformerTestCopy): input X is int32, programs read float32');
    tf.dispose([x, ids]);
  });
});
