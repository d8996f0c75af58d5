import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createKernelContext, useBackend } from '@swapformer/core';
import { randomAttentionInputs, webGpuSuiteCheck } from '@swapformer/core/conformance';
import { keyRowSoftmaxAttention, softmaxAttention } from '@swapformer/kernels';

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

/** [b·h, selected] distinct positions out of order, and attention on gathered copies of those rows (the reference). */
function gatheredReference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, selected: number): { rows: tf.Tensor2D; reference: tf.Tensor4D } {
  const [b, h, nk, d] = k.shape;
  const positions = Int32Array.from({ length: b * h * selected }, (_, at) => (5 * (at % selected) + Math.floor(at / selected)) % nk);
  const rows = tf.tensor2d(Float32Array.from(positions), [b * h, selected]);
  const pick = (x: tf.Tensor4D) => tf.reshape(tf.gather(tf.reshape(x, [b * h, nk, d]), tf.tensor2d(positions, [b * h, selected], 'int32'), 1, 1), [b, h, selected, d]) as tf.Tensor4D;
  return { rows, reference: tf.tidy(() => softmaxAttention(createKernelContext(), q, pick(k), pick(v), { scale: 0.3 })) };
}

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const value = (await d.data())[0];
  d.dispose();
  return value;
}

describe('keyRowSoftmaxAttention (attention over selected key rows)', function () {
  it('should equal attention over gathered copies of the rows on the suite backend, and refuse rows of the wrong shape', async () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 9, nk: 23, dk: 8 }, 3);
    const { rows, reference } = gatheredReference(q, k, v, 11);
    const out = keyRowSoftmaxAttention(createKernelContext(), q, k, v, rows, { scale: 0.3 });
    expect(out.shape).to.deep.equal([2, 2, 9, 8]);
    expect(await maxDiff(out, reference)).to.be.lessThan(1e-6);
    const wrong = tf.zeros([3, 11]) as tf.Tensor2D;
    expect(() => keyRowSoftmaxAttention(createKernelContext(), q, k, v, wrong)).to.throw("keyRows must be [b·hk, n'] = [4, n'] (one row of positions per batch and k/v head), got [3, 11]");
    tf.dispose([q, k, v, rows, reference, out, wrong]);
  });

  describe('on webgpu (lavapipe in CI)', () => {
    before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
    after(async () => {
      await useBackend(suiteBackend);
    });

    it('should read the rows in place with the flash program and gather them with it off, with one output and no leaks', async () => {
      await useBackend('webgpu');
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 3, nq: 70, nk: 130, dk: 16 }, 4);
      const { rows, reference } = gatheredReference(q, k, v, 50);
      const before = tf.memory().numTensors;
      const backend = tf.backend() as unknown as { runWebGPUProgram: (program: { shaderKey?: string }, ...rest: unknown[]) => unknown };
      const run = backend.runWebGPUProgram;
      const programs: string[] = [];
      backend.runWebGPUProgram = (program, ...rest) => (programs.push(String(program.shaderKey)), run.call(backend, program, ...rest));
      const fused = keyRowSoftmaxAttention(createKernelContext(), q, k, v, rows, { scale: 0.3 });
      backend.runWebGPUProgram = run;
      expect(programs, 'one flash dispatch reading the rows in place').to.have.length(1);
      expect(programs[0]).to.match(/^swapformerFlashAttention_.*_keyRows/);
      const gathered = keyRowSoftmaxAttention(createKernelContext({ webGpuFusedAttention: false }), q, k, v, rows, { scale: 0.3 });
      expect(tf.memory().numTensors - before, 'only the two outputs are left').to.equal(2);
      expect(await maxDiff(fused, reference)).to.be.lessThan(1e-5);
      expect(await maxDiff(gathered, reference)).to.be.lessThan(1e-5);
      tf.dispose([q, k, v, rows, reference, fused, gathered]);
    });
  });
});
