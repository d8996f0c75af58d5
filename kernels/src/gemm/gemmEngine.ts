/**
 * A multi-threaded f32 GEMM on plain arrays: copies the operands into its own WebAssembly memory,
 * packs them into panels there on the kernel pool's threads (packModule.ts), splits C into
 * blocks over the same threads (kernelThreads.ts) running the SIMD block kernel (gemmModule.ts),
 * then applies PReLU (the one activation that needs a broadcast tensor) and copies C out.
 *
 * The engine is a value the caller owns (threads chosen by the caller, no module state), so a
 * container service or a test can hold several with different thread counts.
 */
import { createKernelPool, type KernelPool } from '../wasm/kernelThreads';
import { assembleModule, type FunctionSpec } from '../wasm/wasmAssembler';
import { webAssemblyApi, type WasmMemory } from '../wasm/webAssemblyApi';
import { buildGemmBlock, GEMM, GEMM_ACTIVATION, GEMM_MR, GEMM_NR, GEMM_PARAMS, type GemmActivation } from './gemmModule';
import { buildGemvBlock } from './gemvModule';
import { buildPackPanels, PACK, PACK_PARAMS } from './packModule';
import { createResidentPanels, type ResidentBlock, type ResidentPanels } from './residentPanels';

/** One batched product  out[i] = act(A[batchA[i]] · B[batchB[i]] + bias). */
export interface GemmCall {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** A batches, each [m, k] row-major (or [k, m] with transposeA), back to back from `aOffset`. */
  readonly a: Float32Array;
  readonly aOffset?: number;
  readonly transposeA?: boolean;
  /** B batches, each [k, n] (or [n, k] with transposeB), back to back from `bOffset`. */
  readonly b: Float32Array;
  readonly bOffset?: number;
  readonly transposeB?: boolean;
  /** Per output batch, which A and which B batch it multiplies (broadcasting); default one batch. */
  readonly batchA?: ArrayLike<number>;
  readonly batchB?: ArrayLike<number>;
  /** [n], added to every row. */
  readonly bias?: Float32Array | null;
  readonly activation?: GemmActivation;
  /** Leaky-ReLU slope. */
  readonly alpha?: number;
  /** PReLU slopes, `preluStrides`-broadcast against out [batches, m, n] (required for prelu). */
  readonly prelu?: { readonly data: Float32Array; readonly strides: readonly [number, number, number] } | null;
  /** [batches, m, n] written here, from `outOffset`. */
  readonly out: Float32Array;
  readonly outOffset?: number;
  /**
   * B is a weight whose contents stay the same while `isLive(key)`: products of up to
   * RESIDENT_MAX_ROWS rows keep it packed in the engine's memory between calls (residentPanels.ts).
   */
  readonly bResident?: { readonly key: object; readonly isLive: (key: object) => boolean } | null;
}

export interface GemmEngineOptions {
  /** Bytes of packed B operands kept between calls (default 2 GiB); over it, B is packed per call. */
  readonly residentBytes?: number;
}

export interface GemmEngine {
  /** Threads that take blocks (the calling thread included). */
  readonly threads: number;
  /** Whether the micro-kernel uses relaxed-SIMD multiply-add. */
  readonly fma: boolean;
  run(call: GemmCall): void;
  /**
   * Whether a one-batch product with this B (`call.bResident`) keeps it packed: held already or
   * within the budget. Callers route few-row products here only then (packing B per call would
   * cost more than the product).
   */
  keepsResident(key: object, k: number, n: number, transposeB: boolean, isLive: (key: object) => boolean): boolean;
}

/** Below this many multiply-adds, blocks run on the calling thread (waking workers costs more). */
const THREADED_WORK = 1 << 20;
const TASK_ROWS = GEMM_MR * 32;
const TASK_COLS = 512;
/** Products of at most this many rows run the row-streaming kernel (gemvModule.ts). */
const GEMV_MAX_ROWS = 3;
/** A few-row product reads B from memory once; it is worth both cores from this many B floats. */
const GEMV_THREADED_FLOATS = 1 << 16;
/** Products of at most this many rows keep a `bResident` B packed between calls. */
export const RESIDENT_MAX_ROWS = 64;

const ceil = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Compiles the kernel over a memory of its own with `threads − 1` workers, or returns null where
 * WebAssembly SIMD is missing (callers keep their own product).
 *
 * @example const gemm = createGemmEngine(2); gemm?.run({ m, n, k, a, b, out });
 */
export function createGemmEngine(threads: number, options: GemmEngineOptions = {}): GemmEngine | null {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`createGemmEngine: threads must be a positive integer, got ${threads}`);
  const wasm = webAssemblyApi();
  if (!wasm) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && threads > 1;
  const specs = (fma: boolean): FunctionSpec[] => [
    { name: 'gemmBlock', params: GEMM_PARAMS, results: [], body: buildGemmBlock(fma) },
    { name: 'packPanels', params: PACK_PARAMS, results: [], body: buildPackPanels() },
    { name: 'gemvBlock', params: GEMM_PARAMS, results: [], body: buildGemvBlock(fma) },
  ];
  try {
    const fma = wasm.validate(assembleModule(specs(true), { minPages: 1 }));
    const module = new wasm.Module(assembleModule(specs(fma), shared ? { minPages: 1, sharedMaxPages: MAX_PAGES } : { minPages: 1 }));
    const memory = new wasm.Memory(shared ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1 });
    // three pools over one memory: their workers sleep in Atomics.wait between jobs, so the extra sets cost no CPU
    const kernel: GemmKernel = {
      memory,
      gemm: createKernelPool(module, memory, 'gemmBlock', threads - 1),
      pack: createKernelPool(module, memory, 'packPanels', threads - 1),
      gemv: createKernelPool(module, memory, 'gemvBlock', threads - 1),
      resident: createResidentPanels(options.residentBytes ?? 2 ** 31),
    };
    return {
      threads: kernel.gemm.size,
      fma,
      run: (call) => runGemm(kernel, call),
      keepsResident: (key, k, n, transposeB, isLive) => !!kernel.resident.find(key, residentLayout(k, n, transposeB)) || kernel.resident.fits(packedBytes(k, n), isLive),
    };
  } catch {
    return null; // no SIMD here: callers keep their own product
  }
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

interface GemmKernel {
  readonly memory: WasmMemory;
  readonly gemm: KernelPool;
  readonly pack: KernelPool;
  readonly gemv: KernelPool;
  readonly resident: ResidentPanels;
}

const residentLayout = (k: number, n: number, transposeB: boolean) => `${k}x${n}${transposeB ? 'T' : ''}`;
const packedBytes = (k: number, n: number) => ceil(n, GEMM_NR) * ceil(k, 4) * 4;

function reserve(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
}

/** Runs `tasks` rows of arguments at `table` on `pool`, or on the calling thread alone for small work. */
function runTasks(pool: KernelPool, memory: WasmMemory, table: number, tasks: number, argc: number, threaded: boolean): void {
  if (threaded) {
    pool.run({ tableOffset: table, tasks, argc });
    return;
  }
  const args = new Float64Array(memory.buffer, table, tasks * argc);
  for (let i = 0; i < tasks; i++) pool.call(...Array.from(args.subarray(i * argc, (i + 1) * argc)));
}

function runGemm(kernel: GemmKernel, call: GemmCall): void {
  const { m, n, k } = call;
  const batchA = call.batchA ?? [0];
  const batchB = call.batchB ?? [0];
  const batches = batchA.length;
  if (batchB.length !== batches) throw new RangeError(`GemmCall: batchA has ${batches} entries and batchB ${batchB.length}; give one pair per output batch`);
  const activation = call.activation ?? 'linear';
  if (activation === 'prelu' && !call.prelu) throw new RangeError('GemmCall: activation prelu needs `prelu` slopes');
  const out = call.out;
  const outOffset = call.outOffset ?? 0;
  if (m === 0 || n === 0 || batches === 0) return;
  if (k === 0) {
    out.fill(0, outOffset, outOffset + batches * m * n);
    if (call.bias || activation !== 'linear') applyEpilogueInJs(call, out, outOffset);
    return;
  }
  // few rows: A rows kept whole (panels of width 1) for the row-streaming kernel, no MR padding
  const gemv = m <= GEMV_MAX_ROWS;
  const aWidth = gemv ? 1 : GEMM_MR;
  const mPad = ceil(m, aWidth);
  const nPad = ceil(n, GEMM_NR);
  const kPad = ceil(k, 4);
  const aSets = Math.max(...Array.from(batchA)) + 1;
  const bSets = Math.max(...Array.from(batchB)) + 1;
  const pool = gemv ? kernel.gemv : kernel.gemm;
  const threaded = kernel.gemm.size > 1 && (gemv ? k * n * batches >= GEMV_THREADED_FLOATS : m * n * k * batches >= THREADED_WORK);
  const threads = threaded ? kernel.gemm.size : 1;

  // B packed between calls (a weight in a few-row product): found, or placed now and packed below
  const residentKey = call.bResident && bSets === 1 && m <= RESIDENT_MAX_ROWS ? call.bResident : null;
  const layout = residentLayout(k, n, !!call.transposeB);
  let resident: ResidentBlock | null | undefined = residentKey ? kernel.resident.find(residentKey.key, layout) : null;
  const packB = !resident;
  if (!resident && residentKey) resident = kernel.resident.place(residentKey.key, layout, packedBytes(k, n), residentKey.isLive);

  // blocks of C: enough of them that every thread has ~3 to balance (a few-row product, cheap per
  // block: ~8, so a thread the machine preempts holds up little), none smaller than a tile
  const perThread = gemv ? 8 : 3;
  let rowsPer = gemv ? mPad : Math.min(TASK_ROWS, mPad);
  let colsPer = Math.min(TASK_COLS, nPad);
  const blocks = () => batches * Math.ceil(mPad / rowsPer) * Math.ceil(nPad / colsPer);
  while (blocks() < perThread * threads && colsPer > 64) colsPer = ceil(colsPer / 2, GEMM_NR);
  while (blocks() < perThread * threads && rowsPer > GEMM_MR) rowsPer = ceil(rowsPer / 2, GEMM_MR);
  const rowBlocks = Math.ceil(mPad / rowsPer);
  const colBlocks = Math.ceil(nPad / colsPer);
  const tasks = batches * rowBlocks * colBlocks;
  // packing tasks: each operand set in chunks of panels, ~3 per thread
  const aPanels = mPad / aWidth, bPanels = nPad / GEMM_NR;
  const aChunk = Math.max(1, Math.ceil((aPanels * aSets) / (3 * threads)));
  const bChunk = Math.max(1, Math.ceil((bPanels * bSets) / (3 * threads)));
  const packTasks = aSets * Math.ceil(aPanels / aChunk) + (packB ? bSets * Math.ceil(bPanels / bChunk) : 0);

  // layout (bytes, 64-aligned): resident B panels | A as given | B as given | A panels | B panels | bias | C | task tables
  const aBatch = m * k, bBatch = k * n;
  const aStride = mPad * kPad * 4, bStride = nPad * kPad * 4, cStride = mPad * nPad * 4;
  const aRaw = kernel.resident.top;
  const bRaw = ceil(aRaw + aSets * aBatch * 4, 64);
  const aOff = ceil(bRaw + (packB ? bSets * bBatch * 4 : 0), 64);
  const bScratch = ceil(aOff + aSets * aStride, 64);
  const bOff = resident ? resident.offset : bScratch;
  const biasOff = ceil(bScratch + (resident ? 0 : bSets * bStride), 64);
  const cOff = ceil(biasOff + nPad * 4, 64);
  const table = ceil(cOff + batches * cStride, 64);
  const packTable = ceil(table + tasks * GEMM_PARAMS.length * 8, 64);
  const end = packTable + packTasks * PACK_PARAMS.length * 8;
  if (end > MAX_PAGES * PAGE) throw new RangeError(`GemmCall: ${end} bytes of operands and panels exceed the 4 GiB of wasm32 memory; split the batch`);
  reserve(kernel.memory, end);
  const mem = new Float32Array(kernel.memory.buffer);
  const aStart = call.aOffset ?? 0, bStart = call.bOffset ?? 0;
  mem.set(call.a.subarray(aStart, aStart + aSets * aBatch), aRaw >> 2);
  if (packB) mem.set(call.b.subarray(bStart, bStart + bSets * bBatch), bRaw >> 2);
  const hasBias = !!call.bias;
  if (hasBias) {
    mem.set(call.bias!.subarray(0, n), biasOff >> 2);
    mem.fill(0, (biasOff >> 2) + n, (biasOff >> 2) + nPad);
  }

  // pack: A rows are panel rows (strides per transpose, see packModule.ts), B columns are panel columns
  const packArgs = new Float64Array(kernel.memory.buffer, packTable, packTasks * PACK_PARAMS.length);
  let pt = 0;
  const addPack = (src: number, dst: number, strideJ: number, strideT: number, limit: number, panels: number, chunk: number, width: number) => {
    for (let p0 = 0; p0 < panels; p0 += chunk, pt++) {
      const row = pt * PACK_PARAMS.length;
      packArgs[row + PACK.src] = src;
      packArgs[row + PACK.dst] = dst;
      packArgs[row + PACK.strideJ] = strideJ;
      packArgs[row + PACK.strideT] = strideT;
      packArgs[row + PACK.limit] = limit;
      packArgs[row + PACK.k] = k;
      packArgs[row + PACK.kPad] = kPad;
      packArgs[row + PACK.panelStart] = p0;
      packArgs[row + PACK.panelEnd] = Math.min(panels, p0 + chunk);
      packArgs[row + PACK.width] = width;
    }
  };
  for (let s = 0; s < aSets; s++) addPack(aRaw + s * aBatch * 4, aOff + s * aStride, call.transposeA ? 1 : k, call.transposeA ? m : 1, m, aPanels, aChunk, aWidth);
  if (packB) for (let s = 0; s < bSets; s++) addPack(bRaw + s * bBatch * 4, bOff + s * bStride, call.transposeB ? k : 1, call.transposeB ? 1 : n, n, bPanels, bChunk, GEMM_NR);
  // packing a few rows of A alone is not worth waking the workers
  runTasks(kernel.pack, kernel.memory, packTable, packTasks, PACK_PARAMS.length, threaded && (packB || m > RESIDENT_MAX_ROWS));

  const code = activation === 'prelu' ? GEMM_ACTIVATION.linear : GEMM_ACTIVATION[activation];
  const args = new Float64Array(kernel.memory.buffer, table, tasks * GEMM_PARAMS.length);
  let t = 0;
  for (let bi = 0; bi < batches; bi++) {
    for (let rb = 0; rb < rowBlocks; rb++) {
      for (let cb = 0; cb < colBlocks; cb++, t++) {
        const row = t * GEMM_PARAMS.length;
        args[row + GEMM.a] = aOff + batchA[bi] * aStride;
        args[row + GEMM.b] = bOff + batchB[bi] * bStride;
        args[row + GEMM.c] = cOff + bi * cStride;
        args[row + GEMM.kPad] = kPad;
        args[row + GEMM.ldc] = nPad;
        args[row + GEMM.rowStart] = rb * rowsPer;
        args[row + GEMM.rowEnd] = Math.min(mPad, (rb + 1) * rowsPer);
        args[row + GEMM.colStart] = cb * colsPer;
        args[row + GEMM.colEnd] = Math.min(nPad, (cb + 1) * colsPer);
        args[row + GEMM.bias] = hasBias ? biasOff : 0;
        args[row + GEMM.activation] = code;
        args[row + GEMM.alpha] = call.alpha ?? 0;
      }
    }
  }
  runTasks(pool, kernel.memory, table, tasks, GEMM_PARAMS.length, threaded);

  // C [batches][mPad][nPad] → out [batches][m][n]
  const view = new Float32Array(kernel.memory.buffer);
  for (let bi = 0; bi < batches; bi++) {
    const src = (cOff + bi * cStride) >> 2;
    const dst = outOffset + bi * m * n;
    if (nPad === n) out.set(view.subarray(src, src + m * n), dst);
    else for (let i = 0; i < m; i++) out.set(view.subarray(src + i * nPad, src + i * nPad + n), dst + i * n);
  }
  if (activation === 'prelu') applyPrelu(call, out, outOffset);
}

/** prelu(x) = x for x > 0, slope·x below; slopes broadcast by strides over [batch, row, col]. */
function applyPrelu(call: GemmCall, out: Float32Array, outOffset: number): void {
  const { data, strides } = call.prelu!;
  const batches = (call.batchA ?? [0]).length;
  for (let bi = 0, at = outOffset; bi < batches; bi++) {
    for (let i = 0; i < call.m; i++) {
      const base = bi * strides[0] + i * strides[1];
      for (let j = 0; j < call.n; j++, at++) {
        const v = out[at];
        if (v < 0) out[at] = v * data[base + j * strides[2]];
      }
    }
  }
}

/** The epilogue for k = 0 (a product of empty sums): bias and activation on zeros, in JS. */
function applyEpilogueInJs(call: GemmCall, out: Float32Array, outOffset: number): void {
  const batches = (call.batchA ?? [0]).length;
  const alpha = call.alpha ?? 0;
  const act = (x: number): number => {
    switch (call.activation ?? 'linear') {
      case 'relu': return Math.max(x, 0);
      case 'relu6': return Math.min(Math.max(x, 0), 6);
      case 'leakyrelu': return x > 0 ? x : alpha * x;
      case 'sigmoid': return 1 / (1 + Math.exp(-x));
      case 'elu': return x > 0 ? x : Math.exp(x) - 1;
      default: return x;
    }
  };
  for (let bi = 0, at = outOffset; bi < batches; bi++) for (let i = 0; i < call.m; i++) for (let j = 0; j < call.n; j++, at++) out[at] = act(out[at] + (call.bias ? call.bias[j] : 0));
  if (call.activation === 'prelu') applyPrelu(call, out, outOffset);
}
