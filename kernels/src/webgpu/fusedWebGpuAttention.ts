import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { activeWebGpuDevice, type KernelSettings } from '@swapformer/core';
import { MASKED_LOGIT } from '../attentionBias';
import { float32Uniform, int32Uniform, runWebGpuProgram, type WebGpuProgramSpec } from './runWebGpuProgram';
import { portableFlashAttentionWgsl } from './flashAttentionPortableWgsl';
import { FLASH_TILE_CONFIGS, flashAttentionWgsl, flashLayout, flashMergeWgsl, type FlashDeviceTraits, type FlashLayout, type FlashTileConfig } from './flashAttentionWgsl';

/**
 * Exact attention as one tiled flash-attention program on tfjs-webgpu (flashAttentionWgsl.ts):
 * online softmax over key tiles staged in workgroup memory, register tiles of scores, causal
 * key tiles above the diagonal skipped, grouped-query k/v read in place. Nothing of size
 * `[n, n]` exists; a dispatch binds `[slices, n, d]` tensors, chunked over (batch, k/v head)
 * units and query rows when one would exceed the device's storage-binding limit.
 *
 * Shapes: q [b, h, nq, dk], k and v [b, hk, nk, dk | dv] with h a multiple of hk (query head i
 * reads k/v head ⌊i / (h / hk)⌋) → [b, h, nq, dv]; dk, dv ≤ 256. Time O(b·h·nq·nk·(dk + dv)).
 *
 * On by default (kernel setting `webGpuFusedAttention`; the CLI turns it off with SWAPFORMER_WEBGPU_FUSED=0):
 * on the H100 it beat the row-block op path at every n measured (cli/scripts/gpu-tune-flash.cjs,
 * docs/benchmarks/webgpu-flash.md); CI checks it against the cpu kernel on lavapipe.
 */
export interface FusedWebGpuAttentionOptions {
  /** Logit scale, default 1/sqrt(dk). */
  readonly scale?: number;
  /** Key j visible to query i iff j <= i + (nk − nq). */
  readonly causal?: boolean;
  /** `[b, nk]`, 1 keep / 0 hide. */
  readonly mask?: Tensor2D;
  /** Tile shape; default the first of FLASH_TILE_CONFIGS that fits the device. */
  readonly tile?: FlashTileConfig;
  /**
   * Workgroups per (slice, query block) along the keys, each over its share of key tiles, merged
   * by a second program: fills the GPU when slices × query blocks are few (n = 4096 with 4 heads
   * is 256 workgroups of 64 rows), and keeps the keys and values the resident workgroups stream
   * within the GPU's L2. Default: enough for FLASH_MIN_WORKGROUPS (at most 8), and at least enough
   * that a split's keys and values of one slice take at most FLASH_SPLIT_KV_BYTES.
   */
  readonly keySplits?: number;
  /** Row reductions by subgroup shuffles where the device has subgroups (default true); false takes the workgroup-memory path (tests, tuning). */
  readonly subgroups?: boolean;
  /**
   * Run the program of devices without subgroups (flashAttentionPortableWgsl.ts, what browsers
   * get) even where subgroups exist (default: only there), with its tile set: tests and
   * comparisons of the two programs on one device.
   */
  readonly portable?: boolean;
  /** Bytes one binding may hold; default the device's maxStorageBufferBindingSize (tests pass less to exercise chunking). */
  readonly maxBindingBytes?: number;
  /**
   * `[b·hk, n']` key positions (float32 or int32, each in [0, nk)): attend to those rows of each
   * (batch, k/v head) slice of k and v only, read in place — attention over a selected key set
   * (a coreset) without a gathered copy. Not with `causal` or `mask`, whose positions would be
   * ambiguous: gather the rows first for those.
   */
  readonly keyRows?: Tensor2D;
}

/** Workgroups below which the default splits the keys (about two per SM of a large GPU: the H100 has 132; at n = 4,096 with 4 heads, 256 workgroups unsplit ran 1.15 ms, split in 2 1.27). */
export const FLASH_MIN_WORKGROUPS = 256;

/**
 * Bytes of one slice's keys and values a workgroup streams, above which the default splits the
 * keys. The workgroups resident at a time cover about one slice, which they stream in step while
 * its k and v stay in L2; past it, they fall out of step and re-read k and v from memory. On the
 * H100 (50 MB L2), n = 65,536 at head dim 64 (32 MB a slice) ran 206 ms of GPU time unsplit, 188
 * split in 2 and 186 in 4 (≤ 8 MB a split); at 16,384 (8 MB) splits did not pay.
 */
export const FLASH_SPLIT_KV_BYTES = 8 * 2 ** 20;

/** Largest head dim the register tiles are generated for. */
const MAX_HEAD_DIM = 256;

interface DeviceLimits extends FlashDeviceTraits {
  readonly workgroupBytes: number;
  readonly invocations: number;
  readonly bindingBytes: number;
}

/** The active device's limits, or WebGPU's defaults where the device does not say; subgroups only where the device was made with them. */
function deviceLimits(): DeviceLimits {
  const device = activeWebGpuDevice();
  const limits = device?.limits;
  return {
    workgroupBytes: limits?.maxComputeWorkgroupStorageSize ?? 16384,
    invocations: limits?.maxComputeInvocationsPerWorkgroup ?? 256,
    bindingBytes: limits?.maxStorageBufferBindingSize ?? 2 ** 27,
    subgroupMinSize: device?.features?.has('subgroups') ? (device.adapterInfo?.subgroupMinSize ?? 0) : 0,
  };
}

function fits(layout: FlashLayout, limits: DeviceLimits): boolean {
  return layout.workgroupBytes <= limits.workgroupBytes && layout.invocations <= limits.invocations;
}

/** The layout of the first candidate tile that fits the device for these head dims, or null. */
export function chooseFlashLayout(dk: number, dv: number, limits: DeviceLimits = deviceLimits()): FlashLayout | null {
  // the tiles and schedules added with subgroups (64-key tiles, prefetch, late values, swizzles) are the
  // default only where subgroups are; without them the session-10 tile set, the one the portable
  // program (flashAttentionPortableWgsl.ts) was run with in headless Chromium's SwiftShader
  const candidates = limits.subgroupMinSize > 0 ? FLASH_TILE_CONFIGS : FLASH_TILE_CONFIGS.filter((c) => !c.prefetch && !c.lateValues && !c.swizzle && !(c.rows === 64 && c.keys === 64));
  for (const config of candidates) {
    const layout = flashLayout(config, dk, dv, limits);
    if (fits(layout, limits)) return layout;
  }
  return null;
}

/** True when this call can take the flash program: turned on in `kernels` (`webGpuFusedAttention`), webgpu active, a tile fits dk and dv, no gradient tape. */
export function canUseWebGpuFusedAttention(kernels: KernelSettings, q: Tensor4D, v: Tensor4D): boolean {
  const dk = q.shape[3];
  const dv = v.shape[3];
  if (!kernels.webGpuFusedAttention || tf.getBackend() !== 'webgpu' || tf.engine().isTapeOn()) return false;
  return dk <= MAX_HEAD_DIM && dv <= MAX_HEAD_DIM && chooseFlashLayout(dk, dv) !== null;
}

/** One dispatch's share: units [u0, u0 + units) of (batch, k/v head), query rows [r0, r0 + rows). */
interface Chunk {
  readonly u0: number;
  readonly units: number;
  readonly r0: number;
  readonly rows: number;
}

/**
 * Splits the work so no binding exceeds `bindingBytes`: whole (batch, k/v head) units while they
 * fit, else query rows of one unit. A single unit's k or v over the limit cannot be split here.
 */
function chunksFor(kvUnits: number, group: number, nq: number, nk: number, dk: number, dv: number, bindingBytes: number): Chunk[] {
  const kvBytes = 4 * nk * Math.max(dk, dv);
  if (kvBytes > bindingBytes) {
    throw new Error(`fusedWebGpuAttention: one head's keys or values (${nk} × ${Math.max(dk, dv)} floats, ${kvBytes} bytes) exceed the device's storage-binding limit of ${bindingBytes} bytes; use fewer keys per call (the row-block path: kernel setting webGpuFusedAttention false)`);
  }
  const rowBytes = 4 * group * Math.max(dk, dv);
  const unitBytes = rowBytes * nq;
  const chunks: Chunk[] = [];
  if (unitBytes <= bindingBytes) {
    const perChunk = Math.max(1, Math.min(kvUnits, Math.floor(bindingBytes / Math.max(unitBytes, kvBytes))));
    for (let u0 = 0; u0 < kvUnits; u0 += perChunk) chunks.push({ u0, units: Math.min(perChunk, kvUnits - u0), r0: 0, rows: nq });
    return chunks;
  }
  const rowsPerChunk = Math.max(1, Math.floor(bindingBytes / rowBytes));
  for (let u0 = 0; u0 < kvUnits; u0++) {
    for (let r0 = 0; r0 < nq; r0 += rowsPerChunk) chunks.push({ u0, units: 1, r0, rows: Math.min(rowsPerChunk, nq - r0) });
  }
  return chunks;
}

/**
 * Runs the flash program on the webgpu backend. Same semantics as the other exact kernels:
 * causal keeps j ≤ i + (nk − nq); mask `[b, nk]` hides keys with 0; rows with no visible key
 * give 0.
 *
 * @example const out = fusedWebGpuAttention(q, k, v, { causal: true });
 */
export function fusedWebGpuAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: FusedWebGpuAttentionOptions = {}): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const [, hk, kvRows] = k.shape;
  const dv = v.shape[3];
  const { keyRows } = options;
  // attended keys per slice: all its rows, or the selected ones
  const nk = keyRows ? keyRows.shape[1] : kvRows;
  if (keyRows) checkKeyRows(keyRows, b * hk, options);
  if (tf.getBackend() !== 'webgpu') throw new Error(`fusedWebGpuAttention: needs the webgpu backend, the active one is "${tf.getBackend()}"`);
  if (dk > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) throw new Error(`fusedWebGpuAttention: dk and dv must be at most ${MAX_HEAD_DIM}, got dk ${dk}, dv ${dv}`);
  if (h % hk !== 0 || v.shape[1] !== hk) throw new Error(`fusedWebGpuAttention: ${h} query heads need k and v with a divisor of ${h} heads each, got k ${hk}, v ${v.shape[1]}`);
  const device = deviceLimits();
  // devices without subgroups (browsers) run the portable program (flashAttentionPortableWgsl.ts)
  const portable = options.portable === true || device.subgroupMinSize === 0;
  const limits = portable || options.subgroups === false ? { ...device, subgroupMinSize: 0 } : device;
  const layout = options.tile ? flashLayout(options.tile, dk, dv, limits) : chooseFlashLayout(dk, dv, limits);
  // the portable program has none of these schedules: a tile asking for one is refused, not run without it
  if (portable && layout && (layout.config.prefetch || layout.config.lateValues || layout.config.swizzle)) {
    throw new Error(`fusedWebGpuAttention: tile ${layout.config.name} needs a device with subgroups (this one has none); leave the tile to the default, or pick one without prefetch, late values or swizzle`);
  }
  // the portable program keeps a 4-byte workgroup slot besides the layout's buffers
  if (layout === null || !fits(layout, portable ? { ...limits, workgroupBytes: limits.workgroupBytes - 4 } : limits)) {
    const tried = options.tile ? options.tile.name : FLASH_TILE_CONFIGS.map((c) => c.name).join(', ');
    throw new Error(`fusedWebGpuAttention: no tile (${tried}) fits dk ${dk}, dv ${dv} in this device's ${limits.workgroupBytes} bytes of workgroup memory and ${limits.invocations} invocations; use the row-block path (kernel setting webGpuFusedAttention false)`);
  }
  const { rows, name } = layout.config;
  const group = h / hk;
  const kvUnits = b * hk;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const bindingBytes = options.maxBindingBytes ?? limits.bindingBytes;
  const chunks = chunksFor(kvUnits, group, nq, kvRows, dk, dv, bindingBytes);
  return tf.tidy(() => {
    const q5 = tf.reshape(q, [kvUnits, group, nq, dk]);
    const k3 = tf.reshape(k, [kvUnits, kvRows, dk]);
    const v3 = tf.reshape(v, [kvUnits, kvRows, dv]);
    // without a mask the program never reads Bias (hasBias 0): k stands in, saving a fill dispatch
    const bias: Tensor = options.mask ? tf.mul(tf.sub(1, tf.cast(options.mask, 'float32')), MASKED_LOGIT) : k3;
    // the programs read float32 (positions are exact in it below 2^24); cast once for every chunk
    const floatRows = keyRows && keyRows.dtype !== 'float32' ? tf.cast(keyRows, 'float32') : keyRows;
    const outs = chunks.map(({ u0, units, r0, rows: chunkRows }) => {
      const whole = chunks.length === 1;
      const qc = whole ? q5 : tf.slice(q5, [u0, 0, r0, 0], [units, group, chunkRows, dk]);
      const kc = whole ? k3 : tf.slice(k3, [u0, 0, 0], [units, kvRows, dk]);
      const vc = whole ? v3 : tf.slice(v3, [u0, 0, 0], [units, kvRows, dv]);
      const rowsOfKeys = floatRows && !whole ? tf.slice(floatRows, [u0, 0], [units, nk]) : floatRows;
      const slices = units * group;
      const workgroups = slices * Math.ceil(chunkRows / rows);
      const keyTiles = Math.ceil(nk / layout.config.keys);
      const partBytes = 4 * slices * chunkRows * (dv + 2);
      const wanted = options.keySplits ?? defaultKeySplits(workgroups, keyTiles, nk, dk, dv);
      const splitsWanted = Math.max(1, Math.min(wanted, keyTiles, Math.floor(bindingBytes / partBytes)));
      const keysPerSplit = layout.config.keys * Math.ceil(keyTiles / splitsWanted);
      const splits = Math.ceil(nk / keysPerSplit);
      const partial = splits > 1;
      const program: WebGpuProgramSpec = {
        variableNames: keyRows ? ['Q', 'K', 'V', 'Bias', 'KeyRows'] : ['Q', 'K', 'V', 'Bias'],
        outputShape: partial ? [splits, slices, chunkRows, dv + 2] : [slices, chunkRows, dv],
        shaderKey: `swapformerFlashAttention_${name}_${layout.dkPadded}_${layout.dvPadded}${partial ? '_partial' : ''}${keyRows ? '_keyRows' : ''}${portable ? '_portable' : `${layout.subgroupRows ? '_subgroups' : ''}${layout.vectorLoads ? '_vec4' : ''}`}`,
        // q, k, v as vec4 arrays where their widths allow (the bias stays scalar)
        variableComponents: layout.vectorLoads && !portable ? [4, 4, 4, 1, 1].slice(0, keyRows ? 5 : 4) : undefined,
        dispatch: [splits * workgroups, 1, 1],
        workgroupSize: [layout.invocations, 1, 1],
        uniforms: 'nq : i32, nk : i32, dk : i32, dv : i32, slices : i32, group : i32, kvHeads : i32, kvSliceOffset : i32, offset : i32, hasBias : i32, keysPerSplit : i32, splits : i32, kvRows : i32, scale : f32,',
        getUserCode: () => (portable ? portableFlashAttentionWgsl(layout, partial, keyRows !== undefined) : flashAttentionWgsl(layout, partial, keyRows !== undefined)),
      };
      // causal: row r of the chunk is row r0 + r of the call; otherwise every key is visible
      const offset = options.causal ? nk - nq + r0 : nk;
      const ints = [chunkRows, nk, dk, dv, slices, group, hk, u0, offset, options.mask ? 1 : 0, keysPerSplit, splits, kvRows].map(int32Uniform);
      // logits in log2 units (the program takes exp2, one multiply fewer per score; the portable one
      // exp); the bias is 0 or MASKED_LOGIT, which stays hidden unscaled
      const inputs = [tf.reshape(qc, [slices, chunkRows, dk]), kc, vc, bias, ...(rowsOfKeys ? [rowsOfKeys] : [])];
      let out = runWebGpuProgram(program, inputs, [...ints, float32Uniform(portable ? scale : scale * Math.LOG2E)]);
      if (partial) out = runWebGpuProgram(mergeProgram(slices * chunkRows, dv, !portable), [out], [slices * chunkRows, dv, splits].map(int32Uniform));
      return tf.reshape(out, [units, group, chunkRows, dv]);
    });
    const joined = outs.length === 1 ? outs[0] : joinChunks(outs, chunks);
    return tf.reshape(joined, [b, h, nq, dv]) as Tensor4D;
  });
}

/**
 * Key splits the default asks for (before the binding limit caps them): enough for
 * FLASH_MIN_WORKGROUPS workgroups (at most 8, each split keeping ≥ 4 key tiles), and at least
 * enough that a split's keys and values of one slice take at most FLASH_SPLIT_KV_BYTES.
 *
 * @example defaultKeySplits(4096, 1024, 65536, 64, 64) // 4: 32 MiB of k and v a slice
 */
export function defaultKeySplits(workgroups: number, keyTiles: number, nk: number, dk: number, dv: number): number {
  const forWorkgroups = Math.min(8, Math.ceil(FLASH_MIN_WORKGROUPS / workgroups), Math.floor(keyTiles / 4));
  const forL2 = Math.ceil((4 * nk * (dk + dv)) / FLASH_SPLIT_KV_BYTES);
  return Math.max(forWorkgroups, forL2);
}

/** Refuses key rows of the wrong shape, or with a causal mask or padding mask (whose key positions they would make ambiguous). */
function checkKeyRows(keyRows: Tensor2D, kvUnits: number, options: FusedWebGpuAttentionOptions): void {
  if (keyRows.rank !== 2 || keyRows.shape[0] !== kvUnits || keyRows.shape[1] < 1) {
    throw new Error(`fusedWebGpuAttention: keyRows must be [b·hk, n'] = [${kvUnits}, n'] with n' ≥ 1 positions per (batch, k/v head), got [${keyRows.shape.join(', ')}]`);
  }
  if (options.causal || options.mask) {
    throw new Error(`fusedWebGpuAttention: keyRows cannot be combined with ${options.causal ? 'causal' : 'mask'}; gather the rows (kernels' gatherRows) and pass the gathered k and v instead`);
  }
}

/** The merge of `splits` key-split parts of `rows` rows (flashMergeWgsl), their maxima in log2 or natural units. */
function mergeProgram(rows: number, dv: number, log2Units: boolean): WebGpuProgramSpec {
  return {
    variableNames: ['Parts'],
    outputShape: [rows, dv],
    shaderKey: `swapformerFlashMerge_${log2Units ? 'log2' : 'ln'}`,
    dispatch: [Math.ceil((rows * dv) / 64), 1, 1],
    workgroupSize: [64, 1, 1],
    uniforms: 'rows : i32, dv : i32, splits : i32,',
    getUserCode: () => flashMergeWgsl(log2Units),
  };
}

/** Reassembles chunk outputs `[units, group, rows, dv]`: rows within a unit first, then units. */
function joinChunks(outs: Tensor[], chunks: readonly Chunk[]): Tensor {
  const perUnit: Tensor[] = [];
  let pending: Tensor[] = [];
  for (const [i, out] of outs.entries()) {
    pending.push(out);
    const next = chunks[i + 1];
    if (!next || next.r0 === 0) {
      perUnit.push(pending.length === 1 ? pending[0] : tf.concat(pending, 2));
      pending = [];
    }
  }
  return perUnit.length === 1 ? perUnit[0] : tf.concat(perUnit, 0);
}
