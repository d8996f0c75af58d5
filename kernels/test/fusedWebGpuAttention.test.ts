import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { fusedWebGpuAttention } from '@swapformer/kernels';
import { canUseWebGpuFusedAttention, fusedAttentionWgsl } from '../src/webgpu/fusedWebGpuAttention';
import { createKernelContext } from '@swapformer/core';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

// The program itself runs on webgpu: test/integration/webgpuBackend.test.ts checks it against the
// cpu kernel on lavapipe (CI), and cli/scripts/check-webgpu-fused.cjs on the GPU before the GPU
// benchmark turns it on. Here: what can be checked on any backend.
describe('fusedWebGpuAttention', () => {
  it('should refuse to run on a backend other than webgpu, naming the active one', () => {
    const x = tf.zeros([1, 1, 4, 8]) as tf.Tensor4D;
    expect(() => fusedWebGpuAttention(x, x, x)).to.throw(`fusedWebGpuAttention: needs the webgpu backend, the active one is "${tf.getBackend()}"`);
    x.dispose();
  });

  it('should be off unless enabled, and never used off webgpu even when enabled', () => {
    const x = tf.zeros([1, 1, 4, 8]) as tf.Tensor4D;
    expect(kernels.webGpuFusedAttention).to.equal(false);
    const enabled = createKernelContext({ webGpuFusedAttention: true });
    expect(enabled.webGpuFusedAttention).to.equal(true);
    expect(canUseWebGpuFusedAttention(kernels, x, x)).to.equal(false);
    expect(canUseWebGpuFusedAttention(enabled, x, x)).to.equal(false);
    x.dispose();
  });

  it('should size the workgroup tiles and register arrays by the head dims', () => {
    const wgsl = fusedAttentionWgsl(64, 32);
    expect(wgsl).to.include('fn main(index : i32)');
    expect(wgsl).to.include('var<workgroup> kTile : array<vec4<f32>, 512>;'); // 32 keys × 16 vec4
    expect(wgsl).to.include('var<workgroup> vTile : array<vec4<f32>, 256>;'); // 32 keys × 8 vec4
    expect(wgsl).to.include('m > -500000000.0'); // rows with no visible key give 0, like the other kernels
  });
});
