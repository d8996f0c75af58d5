import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { activeWebGpuDevice, createKernelContext, createSeededRandom, expandKeyValueHeads, useBackend } from '@swapformer/core';
import { chooseFlashLayout, FLASH_TILE_CONFIGS, fusedWebGpuAttention, softmaxAttention, type FlashTileConfig } from '@swapformer/kernels';
import { webGpuSuiteCheck } from '@swapformer/core/conformance';

const kernels = createKernelContext({ threads: 1 });
const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

interface Case {
  readonly b: number;
  readonly h: number;
  readonly hk: number;
  readonly nq: number;
  readonly nk: number;
  readonly dk: number;
  readonly dv: number;
  readonly causal: boolean;
  readonly mask: boolean;
  readonly tile?: FlashTileConfig;
  readonly maxBindingBytes?: number;
  readonly keySplits?: number;
  readonly subgroups?: boolean;
  /** Run the program browsers get (no subgroups) on this device. */
  readonly portable?: boolean;
  /** Attend to this many key rows of each (batch, k/v head) slice, picked out of order (`keyRows`). */
  readonly selected?: number;
  /** Pass the key rows as int32 (default float32, as Thinformer's coreset positions are). */
  readonly int32Rows?: boolean;
}

/** Distinct key positions of k/v slice u, out of order: (7·j + 3·u + 1) mod nk for j < selected (nk not a multiple of 7). */
function keyRowArray(c: Case): Float32Array {
  const selected = c.selected ?? c.nk;
  return Float32Array.from({ length: c.b * c.hk * selected }, (_, at) => (7 * (at % selected) + 3 * Math.floor(at / selected) + 1) % c.nk);
}

function tile(name: string): FlashTileConfig {
  const found = FLASH_TILE_CONFIGS.find((c) => c.name === name);
  if (!found) throw new Error(`no tile ${name}`);
  return found;
}

/** Seeded inputs for `c`: q, k, v and a mask hiding every 5th key (and all keys of batch row 1 past the first 3). */
function inputArrays(c: Case): Float32Array[] {
  const sizes = [c.b * c.h * c.nq * c.dk, c.b * c.hk * c.nk * c.dk, c.b * c.hk * c.nk * c.dv];
  const arrays = sizes.map((size, j) => createSeededRandom(j + 11).fillNormal(new Float32Array(size)));
  arrays.forEach((a) => a.forEach((x, i) => (a[i] = 1.5 * x)));
  const mask = Float32Array.from({ length: c.b * c.nk }, (_, i) => (i % 5 === 2 || (i >= c.nk && i % c.nk >= 3) ? 0 : 1));
  return [...arrays, mask];
}

/** Max abs difference of the flash program on webgpu from the cpu backend's exact kernel (k/v heads repeated there), relative to the output's largest value. */
async function flashAgainstCpu(c: Case): Promise<number> {
  const arrays = inputArrays(c);
  const shapes = [[c.b, c.h, c.nq, c.dk], [c.b, c.hk, c.nk, c.dk], [c.b, c.hk, c.nk, c.dv], [c.b, c.nk]];
  const run = async (attend: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask?: tf.Tensor2D) => tf.Tensor): Promise<Float32Array> => {
    const [q, k, v, mask] = arrays.map((a, j) => tf.tensor(a, shapes[j]));
    const y = attend(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, c.mask ? (mask as tf.Tensor2D) : undefined);
    const values = (await y.data()) as Float32Array;
    tf.dispose([q, k, v, mask, y]);
    return values;
  };
  const positions = keyRowArray(c);
  const selected = c.selected ?? c.nk;
  // the reference attends to gathered copies of the selected rows
  const pick = (x: tf.Tensor4D) => {
    if (c.selected === undefined) return x;
    const d = x.shape[3];
    const rows = tf.tensor2d(Int32Array.from(positions), [c.b * c.hk, selected], 'int32');
    return tf.reshape(tf.gather(tf.reshape(x, [c.b * c.hk, c.nk, d]), rows, 1, 1), [c.b, c.hk, selected, d]) as tf.Tensor4D;
  };
  await useBackend('cpu');
  const cpu = await run((q, k, v, mask) =>
    tf.tidy(() => softmaxAttention(kernels, q, expandKeyValueHeads(pick(k), c.h), expandKeyValueHeads(pick(v), c.h), { causal: c.causal, mask })),
  );
  await useBackend('webgpu');
  const before = tf.memory().numTensors;
  // which programs ran (the portable cases must run the portable one)
  const backend = tf.backend() as unknown as { runWebGPUProgram: (program: { shaderKey?: string }, ...rest: unknown[]) => unknown };
  const runProgram = backend.runWebGPUProgram;
  const programs: string[] = [];
  backend.runWebGPUProgram = (program, ...rest) => (programs.push(String(program.shaderKey)), runProgram.call(backend, program, ...rest));
  let gpu: Float32Array;
  try {
    gpu = await run((q, k, v, mask) => {
      const keyRows = c.selected === undefined ? undefined : c.int32Rows ? tf.tensor2d(Int32Array.from(positions), [c.b * c.hk, selected], 'int32') : tf.tensor2d(positions, [c.b * c.hk, selected]);
      const out = fusedWebGpuAttention(q, k, v, { causal: c.causal, mask, tile: c.tile, maxBindingBytes: c.maxBindingBytes, keySplits: c.keySplits, subgroups: c.subgroups, portable: c.portable, keyRows });
      keyRows?.dispose();
      return out;
    });
  } finally {
    backend.runWebGPUProgram = runProgram;
  }
  expect(programs.some((key) => key.startsWith('swapformerFlashAttention_') && key.includes('_portable')), `portable program among ${programs.join(', ')}`).to.equal(c.portable === true);
  expect(tf.memory().numTensors, 'tensors left on webgpu').to.equal(before);
  const scale = cpu.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs(cpu[i] - gpu[i]);
    if (!(d <= worst)) worst = d; // NaN propagates
  }
  return worst / scale;
}

describe('fusedWebGpuAttention: the flash program on webgpu against the cpu kernel (lavapipe in CI)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  afterEach(async () => {
    await useBackend(suiteBackend);
  });

  const base = { b: 1, h: 2, hk: 2, dk: 64, dv: 64, causal: false, mask: false } as const;
  const cases: Array<[string, Case]> = [
    ['non-causal, n not a multiple of the tile', { ...base, nq: 77, nk: 77 }],
    ['causal, nq ≠ nk (the diagonal offset), rows past one block', { ...base, nq: 70, nk: 131, causal: true }],
    ['causal with more queries than keys (early rows see nothing: 0)', { ...base, b: 1, h: 1, hk: 1, nq: 90, nk: 40, causal: true }],
    ['key-padding mask, a batch row with 3 visible keys', { ...base, b: 2, nq: 45, nk: 100, mask: true }],
    ['causal and masked together', { ...base, b: 2, nq: 100, nk: 100, causal: true, mask: true }],
    ['grouped-query k/v (4 query heads on 2 k/v heads), causal', { ...base, h: 4, hk: 2, nq: 65, nk: 65, causal: true }],
    ['head dims 40 / 24 (padded in the tiles)', { ...base, nq: 50, nk: 61, dk: 40, dv: 24 }],
    ['head dim 128', { ...base, h: 1, hk: 1, nq: 40, nk: 300, dk: 128, dv: 128, causal: true }],
    ['8 rows × 8 keys per invocation (tile r32k64t8x8), d 32, masked', { ...base, nq: 70, nk: 150, dk: 32, dv: 32, causal: true, mask: true, tile: tile('r32k64t8x8') }],
    // lavapipe has 8-lane subgroups and 32 KiB of workgroup memory: these reach every path of the program there
    ['prefetched k/v tiles (r32k32t4x4p), subgroup row reductions, causal and masked, 2 key splits', { ...base, b: 2, nq: 100, nk: 150, causal: true, mask: true, keySplits: 2, tile: tile('r32k32t4x4p') }],
    ['prefetched k/v tiles, subgroups off (row maxima through workgroup memory), GQA, causal, masked', { ...base, h: 4, hk: 2, nq: 90, nk: 200, causal: true, mask: true, tile: tile('r32k32t4x4p'), subgroups: false }],
    ['shared k/v buffer, subgroups off, key splits', { ...base, nq: 90, nk: 200, keySplits: 2, tile: tile('r32k32t4x4'), subgroups: false }],
    ['4 × 8 per invocation over 64-key tiles (r64k64t4x8), d 32, causal, GQA', { ...base, h: 4, hk: 2, nq: 130, nk: 140, dk: 32, dv: 32, causal: true, tile: tile('r64k64t4x8') }],
    ['values read after the softmax (r64k64t4x8l), d 32, masked, 2 key splits', { ...base, b: 2, nq: 100, nk: 200, dk: 32, dv: 32, mask: true, keySplits: 2, tile: tile('r64k64t4x8l') }],
    ['swizzled q, key and probability tiles (r64k64t4x8ls), d 32, causal, masked, GQA', { ...base, b: 2, h: 4, hk: 2, nq: 130, nk: 140, dk: 32, dv: 32, causal: true, mask: true, tile: tile('r64k64t4x8ls') }],
    ['swizzled with prefetch (r64k32t4x4ps), d 32, 2 key splits', { ...base, nq: 100, nk: 200, dk: 32, dv: 32, keySplits: 2, tile: tile('r64k32t4x4ps') }],
    ['swizzled 8-column buffers with prefetch, subgroups off, causal', { ...base, nq: 90, nk: 200, causal: true, tile: { ...tile('r32k32t4x4p'), name: 'r32k32t4x4ps', swizzle: true }, subgroups: false }],
    ['swizzled 4-column q and probability buffers (16 rows)', { ...base, nq: 50, nk: 70, causal: true, mask: true, tile: { ...tile('r16k32t4x4'), name: 'r16k32t4x4s', swizzle: true } }],
    ['8 × 8 per invocation over 64-key tiles (r64k64t8x8), d 32, masked', { ...base, b: 2, nq: 130, nk: 140, dk: 32, dv: 32, mask: true, tile: tile('r64k64t8x8') }],
    ['head dims 30 / 18 (scalar loads: not multiples of 4)', { ...base, nq: 50, nk: 61, dk: 30, dv: 18, causal: true }],
    ['keys split over 3 workgroups and merged, causal and masked', { ...base, b: 2, nq: 100, nk: 200, causal: true, mask: true, keySplits: 3 }],
    ['key splits where early rows see no key (causal, nq > nk)', { ...base, h: 1, hk: 1, nq: 90, nk: 70, causal: true, keySplits: 4 }],
    ['key splits, GQA, unsplit head dims 40 / 24', { ...base, h: 4, hk: 1, nq: 33, nk: 257, dk: 40, dv: 24, mask: true, keySplits: 5 }],
    // one k/v head's keys take 25,600 bytes, its 2 query heads' rows 51,200
    ['chunked over (batch, k/v head) units (a small binding limit), GQA, causal', { ...base, b: 2, h: 4, hk: 2, nq: 100, nk: 100, causal: true, mask: true, maxBindingBytes: 60000 }],
    ['chunked over query rows too (a smaller binding limit), GQA, causal', { ...base, b: 2, h: 4, hk: 2, nq: 100, nk: 100, causal: true, mask: true, maxBindingBytes: 30000 }],
    // attention over selected key rows read in place (Thinformer's coreset)
    ['over 70 of 150 key rows per slice, out of order, GQA, 2 batch rows', { ...base, b: 2, h: 4, hk: 2, nq: 90, nk: 150, selected: 70 }],
    ['over key rows as int32, key splits, swizzled 64-key tile, d 32', { ...base, nq: 100, nk: 200, dk: 32, dv: 32, selected: 130, int32Rows: true, keySplits: 2, tile: tile('r64k64t4x8ls') }],
    ['over key rows with scalar loads (head dims 30 / 18), subgroups off', { ...base, nq: 50, nk: 61, dk: 30, dv: 18, selected: 33, subgroups: false, tile: tile('r32k32t4x4') }],
    ['over key rows, chunked over (batch, k/v head) units', { ...base, b: 2, h: 4, hk: 2, nq: 100, nk: 100, selected: 45, maxBindingBytes: 60000 }],
    // the program browsers run (no subgroups), here on a device that has them
    ['the portable program: causal, masked, GQA, key splits', { ...base, b: 2, h: 4, hk: 2, nq: 100, nk: 150, causal: true, mask: true, keySplits: 2, portable: true }],
    ['the portable program over key rows, head dims 40 / 24', { ...base, nq: 70, nk: 130, dk: 40, dv: 24, selected: 50, portable: true }],
  ];
  for (const [what, c] of cases) {
    it(`should match the cpu kernel: ${what}`, async () => {
      expect(await flashAgainstCpu(c)).to.be.lessThan(1e-5);
    });
  }

  it("should run with subgroup row reductions on a device that has them (Node's Dawn device asks for the feature; lavapipe has 8 lanes)", async () => {
    await useBackend('webgpu');
    const device = activeWebGpuDevice();
    expect(device?.features?.has('subgroups'), 'the Dawn device has subgroups').to.equal(true);
    const layout = chooseFlashLayout(64, 64);
    expect(layout?.subgroupRows).to.equal((device?.adapterInfo?.subgroupMinSize ?? 0) >= (layout?.threadsX ?? Infinity));
    expect(layout?.vectorLoads).to.equal(true);
  });

  it('should refuse a k/v head count that does not divide the query heads, naming both', async () => {
    await useBackend('webgpu');
    const q = tf.zeros([1, 3, 8, 16]) as tf.Tensor4D;
    const kv = tf.zeros([1, 2, 8, 16]) as tf.Tensor4D;
    expect(() => fusedWebGpuAttention(q, kv, kv)).to.throw('3 query heads need k and v with a divisor of 3 heads each, got k 2, v 2');
    tf.dispose([q, kv]);
  });

  it('should refuse key rows with a causal mask, or of the wrong shape, naming the way out', async () => {
    await useBackend('webgpu');
    const x = tf.zeros([2, 1, 16, 8]) as tf.Tensor4D;
    const rows = tf.zeros([2, 4]) as tf.Tensor2D;
    const wrong = tf.zeros([1, 4]) as tf.Tensor2D;
    expect(() => fusedWebGpuAttention(x, x, x, { keyRows: rows, causal: true })).to.throw(/keyRows cannot be combined with causal; gather the rows/);
    expect(() => fusedWebGpuAttention(x, x, x, { keyRows: wrong })).to.throw("keyRows must be [b·hk, n'] = [2, n'] with n' ≥ 1 positions per (batch, k/v head), got [1, 4]");
    tf.dispose([x, rows, wrong]);
  });

  it('should refuse one head whose keys exceed the binding limit, naming the limit and the way out', async () => {
    await useBackend('webgpu');
    const x = tf.zeros([1, 1, 64, 16]) as tf.Tensor4D;
    expect(() => fusedWebGpuAttention(x, x, x, { maxBindingBytes: 1024 })).to.throw(/exceed the device's storage-binding limit of 1024 bytes[\s\S]*webGpuFusedAttention false/);
    x.dispose();
  });
});
