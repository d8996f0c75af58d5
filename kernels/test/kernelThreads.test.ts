import { expect } from 'chai';
import { assembleModule, createKernelPool, createWorkerHost, F32, FunctionBody, I32, webAssemblyApi } from '@swapformer/kernels';

/** `task(out, x, scratch)`: out[0] = x·x (f32), out[1] = the scratch address it was given (i32 bits). */
function taskModule(shared: boolean): Uint8Array {
  const f = new FunctionBody(3);
  f.get(0).get(1).get(1).f32Mul().f32Store(0);
  f.get(0).get(2).i32Store(4);
  return assembleModule([{ name: 'task', params: [I32, F32, I32], results: [], body: f }], shared ? { minPages: 1, sharedMaxPages: 16 } : { minPages: 1 });
}

describe('createKernelPool', () => {
  // a page that is not cross-origin isolated has no SharedArrayBuffer: one thread there, by design
  const workersHere = typeof SharedArrayBuffer !== 'undefined' && createWorkerHost() !== null;
  for (const shared of [true, false]) {
    it(`should run every task once with its own arguments and give each thread its own scratch slot (${shared ? 'shared memory, 1 worker' : 'unshared memory: calling thread only'})`, async () => {
      const wasm = webAssemblyApi()!;
      const memory = new wasm.Memory(shared ? { initial: 1, maximum: 16, shared: true } : { initial: 1 });
      const pool = createKernelPool(new wasm.Module(taskModule(shared)), memory, 'task', 1);
      expect(pool.size).to.equal(shared && workersHere ? 2 : 1);
      const tasks = 500;
      const table = 8192; // 8-aligned byte offset of the argument rows
      const rows = new Float64Array(memory.buffer, table, tasks * 3);
      for (let t = 0; t < tasks; t++) rows.set([t * 8, t + 0.5, 60000], t * 3); // out, x, scratch base
      for (let round = 0; round < 3; round++) {
        new Float32Array(memory.buffer, 0, tasks * 2).fill(0);
        pool.run({ tableOffset: table, tasks, argc: 3, slotArgs: [2], slotStride: 16 });
        const out = new Float32Array(memory.buffer, 0, tasks * 2);
        const slots = new Int32Array(memory.buffer, 0, tasks * 2);
        const seen = new Set<number>();
        for (let t = 0; t < tasks; t++) {
          expect(out[2 * t]).to.equal(Math.fround((t + 0.5) * (t + 0.5)));
          seen.add(slots[2 * t + 1]);
        }
        for (const address of seen) expect([60000, 60016]).to.include(address);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
});
