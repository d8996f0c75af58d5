/**
 * Where the kernel pool gets its worker threads: Node's worker_threads, or a page's Web Workers
 * (which can share WebAssembly memory only when the page is cross-origin isolated, i.e. served
 * with COOP/COEP headers). Everything else — a bundle without either, a page that is not
 * isolated — gets no host, and the pool runs every task on the calling thread.
 */
import type { WasmMemory, WasmModule } from './webAssemblyApi';

/** What one worker needs: the compiled module, the shared memory, the export, the control words and its scratch slot. */
export interface KernelWorkerData {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly name: string;
  readonly ctrl: Int32Array;
  readonly slot: number;
}

export interface KernelWorkerHost {
  readonly kind: 'node' | 'web';
  /** Starts a worker that runs the task loop; throws if the environment refuses. */
  spawn(data: KernelWorkerData): void;
  /**
   * Whether the calling thread may sleep in Atomics.wait: a page's main thread may not (the
   * browser throws), so there the pool polls the done counter instead.
   */
  readonly callerMayBlock: boolean;
}

/**
 * The task loop every worker runs (the same as `runKernelTask` in kernelThreads.ts, inlined
 * because a worker runs plain JS): wait for a new generation, then take tasks from the counter.
 */
const TASK_LOOP = `
function kernelTaskLoop({ module, memory, name, ctrl, slot }) {
  const fn = new WebAssembly.Instance(module, { env: { memory } }).exports[name];
  let seen = Atomics.load(ctrl, 0);
  for (;;) {
    Atomics.wait(ctrl, 0, seen);
    seen = Atomics.load(ctrl, 0);
    for (;;) {
      const t = Atomics.add(ctrl, 1, 1);
      const total = Atomics.load(ctrl, 3);
      if (t >= total) break;
      const argc = ctrl[5], mask = ctrl[7];
      const args = Array.from(new Float64Array(memory.buffer, ctrl[4] + t * argc * 8, argc));
      for (let i = 0; i < argc; i++) if (mask & (1 << i)) args[i] += slot * ctrl[6];
      fn(...args);
      if (Atomics.add(ctrl, 2, 1) + 1 === total) Atomics.notify(ctrl, 2);
    }
  }
}
`;

const NODE_WORKER_SOURCE = `${TASK_LOOP}\nkernelTaskLoop(require('node:worker_threads').workerData);\n`;
const WEB_WORKER_SOURCE = `${TASK_LOOP}\nonmessage = (event) => kernelTaskLoop(event.data);\n`;

type NodeWorker = new (src: string, opts: Record<string, unknown>) => { unref(): void; on(e: string, f: (err: unknown) => void): void };

function nodeHost(): KernelWorkerHost | null {
  const versions = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions;
  if (!versions?.node) return null;
  let Worker: NodeWorker;
  try {
    ({ Worker } = require('node:worker_threads') as { Worker: NodeWorker });
  } catch {
    return null; // an ES-module build or a bundle without require: no threads
  }
  return {
    kind: 'node',
    callerMayBlock: true,
    spawn(data) {
      const w = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: data });
      w.on('error', () => undefined); // a dead worker only means fewer hands: the caller takes its tasks
      w.unref();
    },
  };
}

interface WebGlobals {
  crossOriginIsolated?: boolean;
  Worker?: new (url: string) => { postMessage(data: unknown): void; onerror: unknown };
  Blob?: new (parts: string[], opts: { type: string }) => unknown;
  URL?: { createObjectURL(blob: unknown): string };
  document?: unknown;
}

function webHost(): KernelWorkerHost | null {
  const g = globalThis as WebGlobals;
  // postMessage refuses shared memory unless the page is cross-origin isolated
  if (g.crossOriginIsolated !== true || typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || typeof g.URL?.createObjectURL !== 'function') return null;
  const url = g.URL.createObjectURL(new g.Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const WebWorker = g.Worker;
  return {
    kind: 'web',
    // a window's main thread has a document; dedicated workers (where the model may run) may block
    callerMayBlock: g.document === undefined,
    spawn(data) {
      const w = new WebWorker(url);
      w.onerror = () => undefined; // as in Node: fewer hands, same results
      w.postMessage(data);
    },
  };
}

/**
 * The worker host of this environment, or null where workers cannot share memory with the
 * calling thread.
 *
 * @example const host = createWorkerHost(); if (host) host.spawn({ module, memory, name, ctrl, slot: 1 });
 */
export function createWorkerHost(): KernelWorkerHost | null {
  return nodeHost() ?? webHost();
}
