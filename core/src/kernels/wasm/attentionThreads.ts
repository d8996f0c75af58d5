/**
 * Worker threads for the fused attention kernel (Node only): each worker instantiates the same
 * WebAssembly module over the same shared memory and takes tasks (a slice × a block of query
 * rows) from an atomic counter, as the calling thread does. A task writes only its own output
 * rows, computed the same way whichever thread runs it, so results are bitwise identical for
 * any thread count. If a worker is slow to start, the calling thread simply takes every task.
 */

/** Layout of the job descriptor (Int32Array over a SharedArrayBuffer). */
export const JOB = { q: 0, kP: 1, vP: 2, out: 3, bias: 4, nkPad: 5, d: 6, dv: 7, nq: 8, heads: 9, rowsPerTask: 10, tasksPerSlice: 11, offset: 12, maskedHalf: 13, scratch: 14, scratchStride: 15, dPad: 16, stats: 17, kStride: 18, vStride: 19 } as const;
export const JOB_WORDS = 20;
/** Control words: generation, next task, tasks done, total tasks. */
export const CTRL = { generation: 0, next: 1, done: 2, total: 3 } as const;

import type { WasmMemory, WasmModule } from './webAssemblyApi';

type Attend = (...args: number[]) => void;

/** Runs task `t` of the job in `job` with scratch slot `slot`. Shared by the caller and the workers. */
export function runTask(attend: Attend, job: Int32Array, t: number, slot: number): void {
  const slice = Math.floor(t / job[JOB.tasksPerSlice]);
  const rowStart = (t % job[JOB.tasksPerSlice]) * job[JOB.rowsPerTask];
  const rowEnd = Math.min(job[JOB.nq], rowStart + job[JOB.rowsPerTask]);
  const batch = Math.floor(slice / job[JOB.heads]);
  const d = job[JOB.d];
  const dPad = job[JOB.dPad];
  const dv = job[JOB.dv];
  const nkPad = job[JOB.nkPad];
  const nq = job[JOB.nq];
  attend(
    job[JOB.q] + slice * nq * d * 4,
    job[JOB.kP] + slice * job[JOB.kStride],
    job[JOB.vP] + slice * job[JOB.vStride],
    job[JOB.out] + slice * nq * dv * 4,
    job[JOB.bias] + batch * nkPad * 4,
    nkPad,
    d,
    dPad,
    dv,
    rowStart,
    rowEnd,
    job[JOB.offset],
    job[JOB.scratch] + slot * job[JOB.scratchStride],
    job[JOB.maskedHalf],
    job[JOB.stats] && job[JOB.stats] + slice * nq * 8,
  );
}

/** Source of a worker: the same task loop as `runTask`, inlined (workers run plain JS). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, job, ctrl, slot } = workerData;
const attend = new WebAssembly.Instance(module, { env: { memory } }).exports.attend;
let seen = Atomics.load(ctrl, 0);
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  for (;;) {
    const t = Atomics.add(ctrl, 1, 1);
    const total = Atomics.load(ctrl, 3);
    if (t >= total) break;
    const tps = job[11], rpt = job[10], nq = job[8], d = job[6], dv = job[7], nkPad = job[5], dPad = job[16];
    const slice = Math.floor(t / tps);
    const rowStart = (t % tps) * rpt;
    const batch = Math.floor(slice / job[9]);
    attend(job[0] + slice * nq * d * 4, job[1] + slice * job[18], job[2] + slice * job[19], job[3] + slice * nq * dv * 4,
      job[4] + batch * nkPad * 4, nkPad, d, dPad, dv, rowStart, Math.min(nq, rowStart + rpt), job[12], job[14] + slot * job[15], job[13],
      job[17] && job[17] + slice * nq * 8);
    if (Atomics.add(ctrl, 2, 1) + 1 === total) Atomics.notify(ctrl, 2);
  }
}
`;

export interface ThreadPool {
  readonly size: number;
  /** Runs tasks 0..total−1 of the job in `job` on the pool and the calling thread; returns when all are done. */
  run(total: number): void;
}

/**
 * Starts `workers` workers (Node's worker_threads), or returns null where there are none
 * (browsers without cross-origin isolation, bundles without node:worker_threads).
 */
export function createThreadPool(module: WasmModule, memory: WasmMemory, attend: Attend, job: Int32Array, workers: number): ThreadPool | null {
  if (workers < 1 || typeof SharedArrayBuffer === 'undefined') return null;
  let WorkerCtor: (new (src: string, opts: Record<string, unknown>) => { unref(): void; on(e: string, f: (err: unknown) => void): void }) | undefined;
  try {
    WorkerCtor = (require('node:worker_threads') as { Worker: typeof WorkerCtor }).Worker;
  } catch {
    return null;
  }
  if (!WorkerCtor) return null;
  const ctrl = new Int32Array(new SharedArrayBuffer(16));
  let alive = 0;
  for (let i = 0; i < workers; i++) {
    try {
      const w = new WorkerCtor(WORKER_SOURCE, { eval: true, workerData: { module, memory, job, ctrl, slot: i + 1 } });
      w.on('error', () => undefined); // a dead worker only means fewer hands: the caller takes its tasks
      w.unref();
      alive++;
    } catch {
      break;
    }
  }
  if (alive === 0) return null;
  return {
    size: alive + 1,
    run(total: number) {
      Atomics.store(ctrl, CTRL.total, total);
      Atomics.store(ctrl, CTRL.done, 0);
      Atomics.store(ctrl, CTRL.next, 0);
      Atomics.add(ctrl, CTRL.generation, 1);
      Atomics.notify(ctrl, CTRL.generation);
      for (;;) {
        const t = Atomics.add(ctrl, CTRL.next, 1);
        if (t >= total) break;
        runTask(attend, job, t, 0);
        Atomics.add(ctrl, CTRL.done, 1);
      }
      for (;;) {
        const done = Atomics.load(ctrl, CTRL.done);
        if (done >= total) break;
        Atomics.wait(ctrl, CTRL.done, done, 100);
      }
    },
  };
}
