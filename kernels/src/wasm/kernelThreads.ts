/**
 * Worker threads for any exported function of a WebAssembly module over shared memory (Node's
 * worker_threads, or Web Workers on a cross-origin-isolated page; see workerHost.ts): the caller
 * writes one row of arguments per task into the shared memory itself (float64, so i32 and f32
 * parameters both fit), and the calling thread and the workers take tasks from an atomic counter.
 * Arguments named in `slotArgs` get `slot · slotStride` added, so each thread works in its own
 * scratch. A task must write only its own outputs, so results do not depend on which thread ran
 * it. If a worker is slow to start, the calling thread simply takes every task. The fused
 * attention kernel and the plugins' kernels run on it.
 */
import { assembleModule, type FunctionSpec } from './wasmAssembler';
import { webAssemblyApi, type WasmMemory, type WasmModule } from './webAssemblyApi';
import { createWorkerHost } from './workerHost';

/** Control words: generation, next task, tasks done, total tasks, table byte offset, argument count, slot stride, slot-argument bit mask. */
const CTRL = { generation: 0, next: 1, done: 2, total: 3, table: 4, argc: 5, slotStride: 6, slotMask: 7 } as const;
const CTRL_WORDS = 8;

type KernelFunction = (...args: number[]) => void;

/** Runs task `t` of the table with scratch slot `slot`. */
function runKernelTask(fn: KernelFunction, memory: WasmMemory, ctrl: Int32Array, t: number, slot: number): void {
  const argc = ctrl[CTRL.argc];
  const row = new Float64Array(memory.buffer, ctrl[CTRL.table] + t * argc * 8, argc);
  const args = Array.from(row);
  const mask = ctrl[CTRL.slotMask];
  for (let i = 0; i < argc; i++) if (mask & (1 << i)) args[i] += slot * ctrl[CTRL.slotStride];
  fn(...args);
}

/** A job: `tasks` rows of `argc` float64 arguments at byte `tableOffset` (8-aligned) of the shared memory. */
export interface KernelJob {
  readonly tableOffset: number;
  readonly tasks: number;
  readonly argc: number;
  /** Indices (< 31) of the arguments that get `slot · slotStride` added. */
  readonly slotArgs?: readonly number[];
  readonly slotStride?: number;
}

export interface KernelPool {
  /** Threads that take tasks, the calling thread included. */
  readonly size: number;
  /** The function itself, on the calling thread (for single calls). */
  readonly call: (...args: number[]) => void;
  /** Runs every task of the job on the pool and the calling thread; returns when all are done. */
  run(job: KernelJob): void;
}

/**
 * A pool running export `name` of `module` (instantiated over the shared `memory`) on the calling
 * thread plus up to `workers` worker threads. Without SharedArrayBuffer-backed memory or a
 * worker host (createWorkerHost) it runs every task on the calling thread (size 1).
 *
 * @example const pool = createKernelPool(module, memory, 'pairGram', 1); pool.run({ tableOffset, tasks, argc: 13, slotArgs: [5, 6, 11], slotStride });
 */
export function createKernelPool(module: WasmModule, memory: WasmMemory, name: string, workers: number): KernelPool {
  const wasm = webAssemblyApi();
  if (!wasm) throw new Error('createKernelPool: WebAssembly is not available here');
  const fn = new wasm.Instance(module, { env: { memory } }).exports[name] as KernelFunction;
  const ctrl = new Int32Array(typeof SharedArrayBuffer !== 'undefined' ? new SharedArrayBuffer(CTRL_WORDS * 4) : new ArrayBuffer(CTRL_WORDS * 4));
  let alive = 0;
  // SharedArrayBuffer is undefined on pages that are not cross-origin isolated: test before instanceof
  const host = workers > 0 && typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer ? createWorkerHost() : null;
  if (host) {
    try {
      for (let i = 0; i < workers; i++) {
        host.spawn({ module, memory, name, ctrl, slot: i + 1 });
        alive++;
      }
    } catch {
      // the environment refused a worker: those started and the calling thread run every task
    }
  }
  return {
    size: alive + 1,
    call: fn,
    run(job: KernelJob) {
      Atomics.store(ctrl, CTRL.table, job.tableOffset);
      Atomics.store(ctrl, CTRL.argc, job.argc);
      Atomics.store(ctrl, CTRL.slotStride, job.slotStride ?? 0);
      Atomics.store(ctrl, CTRL.slotMask, (job.slotArgs ?? []).reduce((mask, i) => mask | (1 << i), 0));
      if (alive === 0) {
        for (let t = 0; t < job.tasks; t++) runKernelTask(fn, memory, ctrl, t, 0);
        return;
      }
      Atomics.store(ctrl, CTRL.total, job.tasks);
      Atomics.store(ctrl, CTRL.done, 0);
      Atomics.store(ctrl, CTRL.next, 0);
      Atomics.add(ctrl, CTRL.generation, 1);
      Atomics.notify(ctrl, CTRL.generation);
      for (;;) {
        const t = Atomics.add(ctrl, CTRL.next, 1);
        if (t >= job.tasks) break;
        runKernelTask(fn, memory, ctrl, t, 0);
        Atomics.add(ctrl, CTRL.done, 1);
      }
      for (;;) {
        const done = Atomics.load(ctrl, CTRL.done);
        if (done >= job.tasks) break;
        // only tasks a running worker already took are left, so polling ends; a page's main thread may not sleep
        if (host!.callerMayBlock) Atomics.wait(ctrl, CTRL.done, done, 100);
      }
    },
  };
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

/** A plugin's kernel, compiled: its memory and a pool that runs it. */
export interface KernelModule {
  readonly memory: WasmMemory;
  readonly pool: KernelPool;
  /** Grows the memory to at least `bytes`; take typed-array views after this. */
  reserve(bytes: number): void;
}

/**
 * Compiles one kernel function (emitted with core's assembler) over its own memory — shared,
 * with `threads − 1` worker threads, where the engine has SharedArrayBuffer — or returns null
 * where WebAssembly (with SIMD, if the body uses it) is missing, so callers can take another path.
 *
 * @example const kernel = createKernelModule({ name: 'signCodes', params, results: [], body }, 1);
 */
export function createKernelModule(spec: FunctionSpec, threads: number): KernelModule | null {
  const wasm = webAssemblyApi();
  if (!wasm) return null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && threads > 1;
    const module = new wasm.Module(assembleModule([spec], shared ? { minPages: 1, sharedMaxPages: MAX_PAGES } : { minPages: 1 }));
    const memory = new wasm.Memory(shared ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1 });
    const pool = createKernelPool(module, memory, spec.name, threads - 1);
    return {
      memory,
      pool,
      reserve(bytes: number) {
        const have = memory.buffer.byteLength;
        if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
      },
    };
  } catch {
    return null;
  }
}
