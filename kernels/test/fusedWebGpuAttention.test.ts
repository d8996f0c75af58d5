import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { fusedWebGpuAttention } from '@swapformer/kernels';
import { canUseWebGpuFusedAttention, chooseFlashLayout, defaultKeySplits } from '../src/webgpu/fusedWebGpuAttention';
import { FLASH_TILE_CONFIGS, flashAttentionWgsl, flashLayout } from '../src/webgpu/flashAttentionWgsl';
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

  it('should be on by default, and never used off webgpu', () => {
    const x = tf.zeros([1, 1, 4, 8]) as tf.Tensor4D;
    expect(kernels.webGpuFusedAttention).to.equal(true);
    const enabled = createKernelContext({ webGpuFusedAttention: true });
    expect(enabled.webGpuFusedAttention).to.equal(true);
    expect(canUseWebGpuFusedAttention(kernels, x, x)).to.equal(false);
    expect(canUseWebGpuFusedAttention(enabled, x, x)).to.equal(false);
    x.dispose();
  });

  it('should split the keys by default when workgroups are few or a slice streams more than 8 MiB of k and v', () => {
    // 4 heads, 64-row and 64-key tiles, head dims 64: (workgroups, key tiles, nk, dk, dv)
    expect(defaultKeySplits(256, 64, 4096, 64, 64), 'n 4,096: 256 workgroups, 2 MiB a slice').to.equal(1);
    expect(defaultKeySplits(1024, 256, 16384, 64, 64), 'n 16,384: 8 MiB a slice').to.equal(1);
    expect(defaultKeySplits(2048, 512, 32768, 64, 64), 'n 32,768: 16 MiB a slice').to.equal(2);
    expect(defaultKeySplits(4096, 1024, 65536, 64, 64), 'n 65,536: 32 MiB a slice').to.equal(4);
    expect(defaultKeySplits(1024, 256, 16384, 128, 128), 'n 16,384 at head dims 128: 16 MiB').to.equal(2);
    expect(defaultKeySplits(64, 64, 4096, 64, 64), '64 workgroups: 4 splits make 256').to.equal(4);
    expect(defaultKeySplits(1, 40, 2560, 64, 64), 'one workgroup: at most 8').to.equal(8);
  });

  it('should size the tiles by the head dims and pick the first candidate that fits the device', () => {
    const layout = flashLayout(FLASH_TILE_CONFIGS.find((c) => c.name === 'r64k32t4x4p')!, 64, 40);
    // r64k32t4x4p: 8 invocations along keys, 16 along rows; dv padded to whole vec4s per invocation
    expect({ x: layout.threadsX, y: layout.threadsY, dkPadded: layout.dkPadded, dvPadded: layout.dvPadded }).to.deep.equal({ x: 8, y: 16, dkPadded: 64, dvPadded: 64 });
    // q, keys and values (buffers of their own: prefetched), probabilities, per-invocation row maxima
    expect(layout.workgroupBytes).to.equal(4 * (64 * 64 + 64 * 32 + 32 * 64 + 32 * 64 + 64 * 8));
    // with subgroups of ≥ 8 lanes the row maxima need no workgroup buffer
    expect(flashLayout(layout.config, 64, 40, { subgroupMinSize: 32 }).workgroupBytes).to.equal(4 * (64 * 64 + 64 * 32 + 32 * 64 + 32 * 64));
    const wgsl = flashAttentionWgsl(layout);
    expect(wgsl).to.include('fn main(index : i32)');
    expect(wgsl).to.include('var<workgroup> qT : array<vec4<f32>, 1024>;'); // 64 dims × 16 row quads
    expect(wgsl).to.include('m[0] > -500000000.0'); // rows with no visible key give 0, like the other kernels
    // H100 (48 KiB), lavapipe (32 KiB), WebGPU's default (16 KiB)
    const pick = (workgroupBytes: number, d: number, subgroupMinSize = 0) => chooseFlashLayout(d, d, { workgroupBytes, invocations: 256, bindingBytes: 2 ** 31, subgroupMinSize })?.config.name ?? null;
    // without subgroups only the tiles of the portable program (no prefetch, no late values, no 64 × 64)
    expect([pick(49152, 64), pick(32768, 64), pick(16384, 64), pick(32768, 128), pick(16384, 128)]).to.deep.equal(['r64k32t4x4', 'r32k32t4x4', 'r16k32t4x4', 'r16k32t4x4', null]);
    // the H100: 48 KiB and 32-lane subgroups take the 64-key tiles; lavapipe (32 KiB, 8 lanes) the shared k/v buffer of r64k32t4x4
    expect([pick(49152, 64, 32), pick(32768, 64, 8)]).to.deep.equal(['r64k64t4x8ls', 'r64k32t4x4']);
  });

  it('should swizzle the transposed buffers of a swizzled tile and refuse one whose widths are not powers of 2', () => {
    const swizzledTile = FLASH_TILE_CONFIGS.find((c) => c.name === 'r64k64t4x8ls')!;
    const wgsl = flashAttentionWgsl(flashLayout(swizzledTile, 64, 64, { subgroupMinSize: 32 }));
    // key-tile reads XOR the column by the row quad, within blocks of 8 vec4s
    expect(wgsl).to.include('kv[(d + 0) * 16 + ((tx + 0) ^ ((d / 4) & 7))]');
    expect(flashAttentionWgsl(flashLayout({ ...swizzledTile, swizzle: false }, 64, 64, { subgroupMinSize: 32 }))).to.include('kv[(d + 0) * 16 + tx + 0]');
    expect(() => flashLayout({ ...swizzledTile, name: 'r48k64t4x8ls', rows: 48 }, 64, 64)).to.throw('flash tile r48k64t4x8ls: a swizzled tile needs rows (48) and keys (64) that are powers of 2');
  });
});
