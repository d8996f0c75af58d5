import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import type { BenchInputs } from '../../src/bench/benchTypes';
import { exactAttentionOnnxModel } from '../../src/bench/peers/onnxAttentionModel';
import { loadOnnxRuntime, onnxruntimePeer } from '../../src/bench/peers/onnxruntimePeer';
import { plainTfjsAttention, plainTfjsPeer } from '../../src/bench/peers/plainTfjsPeer';
import { PythonPeerProcess, pythonPeer } from '../../src/bench/peers/pythonPeer';

function inputsFixture(n: number, heads = 2, dim = 8): BenchInputs {
  const { q, k, v } = randomAttentionInputs({ batch: 1, heads, nq: n, nk: n, dk: dim }, 7, 1);
  return { n, heads, dim, q, k, v, arrays: { q: q.dataSync() as Float32Array, k: k.dataSync() as Float32Array, v: v.dataSync() as Float32Array } };
}

const reference = (x: BenchInputs) => referenceAttention(toFloat64(x.q), toFloat64(x.k), toFloat64(x.v));
const dispose = (x: BenchInputs) => tf.dispose([x.q, x.k, x.v]);

describe('plainTfjsAttention', () => {
  it('should compute exact attention with rank-4 matMul → softmax → matMul', async () => {
    const x = inputsFixture(24);
    const out = plainTfjsAttention(x.q, x.k, x.v);
    expectTensorsClose(out, reference(x), { atol: 1e-5 });
    const run = await plainTfjsPeer(64).prepare(x);
    await run.run();
    expectTensorsClose((await run.output())!, reference(x), { atol: 1e-5 });
    run.dispose();
    tf.dispose(out);
    dispose(x);
  });
});

describe('exactAttentionOnnxModel', () => {
  const ort = loadOnnxRuntime();

  it('should serialize a model onnxruntime accepts and that computes exact attention at any n', async function () {
    if (typeof ort === 'string') this.skip();
    const peer = await onnxruntimePeer(ort as Exclude<typeof ort, string>, { heads: 2, dim: 8, threads: 1, maxN: 64 });
    for (const n of [5, 33]) {
      const x = inputsFixture(n);
      const run = await peer.prepare(x);
      expect((await run.run()).ms).to.be.a('number');
      expectTensorsClose((await run.output())!, reference(x), { atol: 1e-5 });
      dispose(x);
    }
    await peer.dispose();
  });

  it('should start with the ONNX magic-free protobuf fields: ir_version 8 and opset 17', () => {
    const bytes = exactAttentionOnnxModel({ heads: 4, headDim: 64 });
    expect(Array.from(bytes.slice(0, 2))).to.deep.equal([0x08, 0x08]); // field 1 varint = 8
    expect(Buffer.from(bytes).includes(Buffer.from('Softmax'))).to.equal(true);
  });
});

describe('pythonPeer', () => {
  it('should time numpy in the child and return its output (skipped without python3 + numpy)', async function () {
    const proc = PythonPeerProcess.start({ threads: 1 });
    if (typeof proc === 'string') this.skip();
    const p = proc as PythonPeerProcess;
    try {
      const info = await p.request({ op: 'info' });
      expect(info.OPENBLAS_NUM_THREADS).to.equal('1');
      const peer = pythonPeer(p, 'numpy', 64, info);
      expect(peer.detail).to.match(/^python .*numpy .*OPENBLAS_NUM_THREADS=1/);
      const x = inputsFixture(20);
      const run = await peer.prepare(x);
      const time = await run.run();
      expect(time.ms).to.be.above(0);
      expect(time.cpuMs).to.be.a('number');
      expectTensorsClose((await run.output())!, reference(x), { atol: 1e-5 });
      dispose(x);
    } finally {
      await p.close();
    }
  });

  it('should say why it cannot start when the interpreter is missing', () => {
    expect(PythonPeerProcess.start({ python: 'python3-that-does-not-exist', threads: 1 })).to.match(/^python3-that-does-not-exist not found/);
  });
});
