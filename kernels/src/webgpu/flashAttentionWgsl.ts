import { MASKED_LOGIT } from '../attentionBias';
import { WGSL_WORKGROUP_INDEX } from './runWebGpuProgram';

/**
 * The tile shape of the flash-attention program: a workgroup owns `rows` query rows of one
 * (batch, head) slice and walks the keys `keys` at a time; each invocation computes a
 * `rowsPerThread × keysPerThread` block of the score tile in registers, so every q and k value it
 * reads from workgroup memory feeds 4–8 multiply-adds instead of one. With `prefetch`, keys and
 * values have workgroup buffers of their own and the next tile is read into registers while the
 * current one is computed, so global-memory latency overlaps arithmetic (more workgroup memory).
 */
export interface FlashTileConfig {
  readonly name: string;
  readonly rows: number;
  readonly keys: number;
  readonly rowsPerThread: 4 | 8;
  readonly keysPerThread: 4 | 8;
  readonly prefetch?: boolean;
  /**
   * Shared k/v buffer only: read the value tile after the probabilities are stored rather than
   * before the softmax, so the scores' registers are free while it loads (fewer live registers,
   * its latency less hidden).
   */
  readonly lateValues?: boolean;
  /**
   * XOR-swizzled workgroup layouts for the transposed q, k and probability tiles: their stores
   * write one column of many rows a lane, which in the plain layout puts every lane on the same
   * banks (a 16-way conflict for the key tile, 8-way for the probabilities); the swizzle moves a
   * row's vec4 columns by (row / 4) mod 8, so the stores spread over the banks and the loads (a
   * uniform XOR of contiguous columns) stay conflict-free.
   */
  readonly swizzle?: boolean;
}

/**
 * Candidate tiles, most preferred first: the program runs the first that fits the device
 * (workgroup memory, invocations). The order is the H100 measurement's (cli/scripts/gpu-tune-flash.cjs
 * prints the fastest; put it first). Small tiles last, so WebGPU's 16 KiB default still fits d = 64.
 */
export const FLASH_TILE_CONFIGS: readonly FlashTileConfig[] = [
  // 48 KiB with subgroup row reductions (no row-maxima buffer): the H100's fastest, 64 keys a
  // barrier, values read late, swizzled (13.36 ms at n = 16,384 against 13.77 unswizzled in one
  // run, GPU 209 ms at 65,536; cli/scripts/gpu-tune-flash.cjs)
  { name: 'r64k64t4x8ls', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 8, lateValues: true, swizzle: true },
  { name: 'r64k64t4x8l', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 8, lateValues: true },
  { name: 'r64k64t4x4ls', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 4, lateValues: true, swizzle: true },
  { name: 'r64k64t4x4l', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 4, lateValues: true },
  { name: 'r64k64t4x8', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 8 },
  { name: 'r64k64t4x4', rows: 64, keys: 64, rowsPerThread: 4, keysPerThread: 4 },
  { name: 'r64k32t4x4ps', rows: 64, keys: 32, rowsPerThread: 4, keysPerThread: 4, prefetch: true, swizzle: true },
  { name: 'r64k32t4x4p', rows: 64, keys: 32, rowsPerThread: 4, keysPerThread: 4, prefetch: true },
  { name: 'r64k32t4x4', rows: 64, keys: 32, rowsPerThread: 4, keysPerThread: 4 },
  { name: 'r32k64t4x4p', rows: 32, keys: 64, rowsPerThread: 4, keysPerThread: 4, prefetch: true },
  { name: 'r64k64t8x8', rows: 64, keys: 64, rowsPerThread: 8, keysPerThread: 8 },
  { name: 'r64k32t8x4p', rows: 64, keys: 32, rowsPerThread: 8, keysPerThread: 4, prefetch: true },
  { name: 'r64k32t8x4', rows: 64, keys: 32, rowsPerThread: 8, keysPerThread: 4 },
  { name: 'r64k32t4x8', rows: 64, keys: 32, rowsPerThread: 4, keysPerThread: 8 },
  { name: 'r32k64t8x8', rows: 32, keys: 64, rowsPerThread: 8, keysPerThread: 8 },
  { name: 'r32k64t4x4', rows: 32, keys: 64, rowsPerThread: 4, keysPerThread: 4 },
  { name: 'r32k32t4x4p', rows: 32, keys: 32, rowsPerThread: 4, keysPerThread: 4, prefetch: true },
  { name: 'r32k32t4x4', rows: 32, keys: 32, rowsPerThread: 4, keysPerThread: 4 },
  { name: 'r16k32t4x4', rows: 16, keys: 32, rowsPerThread: 4, keysPerThread: 4 },
];

/** What the device lends the program: the smallest subgroup it may run (0: no `subgroups` feature). */
export interface FlashDeviceTraits {
  readonly subgroupMinSize: number;
}

/** Derived sizes of one (tile, dk, dv, device) program; head dims are padded (with zeros) to what the tile reads as vec4s. */
export interface FlashLayout {
  readonly config: FlashTileConfig;
  /** Invocations along keys (and along output columns) and along rows. */
  readonly threadsX: number;
  readonly threadsY: number;
  /** dk padded to a multiple of 4. */
  readonly dkPadded: number;
  /** dv padded so every invocation owns whole vec4s of output columns. */
  readonly dvPadded: number;
  readonly workgroupBytes: number;
  readonly invocations: number;
  /**
   * Row maxima and sums reduced over a row's `threadsX` invocations by subgroup shuffles, without
   * a workgroup buffer or barrier: when every subgroup has at least `threadsX` lanes.
   */
  readonly subgroupRows: boolean;
  /** q, k and v bound as vec4 arrays (dk and dv multiples of 4): one load per 4 values. */
  readonly vectorLoads: boolean;
}

/** Sizes of `config` for head dims dk, dv on a device with `traits`; throws if the tile shape itself is inconsistent. */
export function flashLayout(config: FlashTileConfig, dk: number, dv: number, traits: FlashDeviceTraits = { subgroupMinSize: 0 }): FlashLayout {
  const { rows, keys, rowsPerThread, keysPerThread } = config;
  if (rows % rowsPerThread !== 0 || keys % keysPerThread !== 0) {
    throw new Error(`flash tile ${config.name}: rows (${rows}) and keys (${keys}) must be multiples of rowsPerThread (${rowsPerThread}) and keysPerThread (${keysPerThread})`);
  }
  const pow2 = (x: number) => (x & (x - 1)) === 0;
  if (config.swizzle && !(pow2(rows) && pow2(keys))) {
    throw new Error(`flash tile ${config.name}: a swizzled tile needs rows (${rows}) and keys (${keys}) that are powers of 2 (the XOR stays within a row)`);
  }
  const threadsX = keys / keysPerThread;
  const threadsY = rows / rowsPerThread;
  const dkPadded = 4 * Math.ceil(dk / 4);
  const dvPadded = 4 * threadsX * Math.ceil(dv / (4 * threadsX));
  const subgroupRows = traits.subgroupMinSize >= threadsX;
  const keyValueFloats = config.prefetch ? dkPadded * keys + keys * dvPadded : Math.max(dkPadded * keys, keys * dvPadded);
  const floats = dkPadded * rows + keyValueFloats + keys * rows + (subgroupRows ? 0 : rows * threadsX);
  return {
    config,
    threadsX,
    threadsY,
    dkPadded,
    dvPadded,
    workgroupBytes: 4 * floats,
    invocations: threadsX * threadsY,
    subgroupRows,
    vectorLoads: dk % 4 === 0 && dv % 4 === 0,
  };
}

/** Unrolled statements: `body(i)` for i in [0, count). */
export function unroll(count: number, body: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => body(i)).join('\n');
}

export const COMPONENTS = ['x', 'y', 'z', 'w'];

/** WGSL readers of 4 consecutive values of one q / k / v row (zeros past the ends), as vec4 loads or 4 scalar ones. */
function quadReaders(layout: FlashLayout, keyRows: boolean): string {
  const D4 = layout.dkPadded / 4;
  if (layout.vectorLoads) {
    return `${keyRowWgsl(keyRows)}
    fn qQuad(slice : i32, row : i32, d4 : i32) -> vec4<f32> {
      if (row < uniforms.nq) { return Q[(slice * uniforms.nq + row) * ${D4} + d4] * uniforms.scale; }
      return vec4<f32>(0.0);
    }
    fn kQuad(slice : i32, key : i32, d4 : i32) -> vec4<f32> {
      if (key < uniforms.nk) { return K[keyRow(slice, key) * ${D4} + d4]; }
      return vec4<f32>(0.0);
    }
    fn vQuad(slice : i32, key : i32, c4 : i32) -> vec4<f32> {
      let dv4 = uniforms.dv / 4;
      if (key < uniforms.nk && c4 < dv4) { return V[keyRow(slice, key) * dv4 + c4]; }
      return vec4<f32>(0.0);
    }`;
  }
  // row(slice, r): the tensor's row r of the slice (keys and values through keyRow)
  const scalar = (name: string, tensor: string, rows: string, width: string, row: string, scale = '') => `
    fn ${name}At(slice : i32, r : i32, d : i32) -> f32 {
      if (r < uniforms.${rows} && d < uniforms.${width}) { return ${tensor}[${row} * uniforms.${width} + d]${scale}; }
      return 0.0;
    }
    fn ${name}Quad(slice : i32, row : i32, d4 : i32) -> vec4<f32> {
      return vec4<f32>(${unroll(4, (c) => `${name}At(slice, row, 4 * d4 + ${c})`).split('\n').join(', ')});
    }`;
  return keyRowWgsl(keyRows) + scalar('q', 'Q', 'nq', 'dk', '(slice * uniforms.nq + r)', ' * uniforms.scale') + scalar('k', 'K', 'nk', 'dk', 'keyRow(slice, r)') + scalar('v', 'V', 'nk', 'dv', 'keyRow(slice, r)');
}

/**
 * WGSL `keyRow(slice, key)`: the row of k and v holding key `key` of a k/v slice. Plain, keys are
 * the slice's rows in order; with key rows (`KeyRows` [slices, nk] positions into the slice's
 * `kvRows` rows) attention runs over those rows only, read in place (no gathered copy).
 */
export function keyRowWgsl(keyRows: boolean): string {
  return keyRows
    ? `
    fn keyRow(slice : i32, key : i32) -> i32 { return slice * uniforms.kvRows + i32(KeyRows[slice * uniforms.nk + key]); }`
    : `
    fn keyRow(slice : i32, key : i32) -> i32 { return slice * uniforms.nk + key; }`;
}

/**
 * The XOR mask of a swizzled transposed buffer `width4` vec4s wide (0: the plain layout): column c
 * of row r is stored at c ^ ((r / 4) & mask), which keeps a row's columns within their block of 8,
 * so contiguous columns of one row stay one contiguous block.
 */
function swizzleMask(config: FlashTileConfig, width4: number): number {
  return config.swizzle ? Math.min(8, width4) - 1 : 0;
}

/** The stored column of column `col` in rows 4·quad … 4·quad + 3 of a buffer with `mask`. */
function swizzled(col: string, quad: string, mask: number): string {
  return mask === 0 ? col : `((${col}) ^ ((${quad}) & ${mask}))`;
}

/** Statements storing 4 quads (rows r…r+3 at d4) transposed: buffer[(4·d4 + c)·width4 + r/4] = component c of the 4 rows (column swizzled by d4 with `mask`). */
function storeTransposed(buffer: string, width4: number, quads: string[], d4: string, r4: string, mask = 0): string {
  return unroll(4, (c) => `${buffer}[(4 * ${d4} + ${c}) * ${width4} + ${swizzled(r4, d4, mask)}] = vec4<f32>(${quads.map((x) => `${x}.${COMPONENTS[c]}`).join(', ')});`);
}

/**
 * WGSL storing row `i` of an invocation's block (after `row` and its sum `total` are defined): its
 * output quads acc(i, c)·1/total, or with `partial` a split's part (normalised by its own sum) and
 * then its max and sum for the merge. Shared by the flash program and the portable one.
 */
export function rowOutputWgsl(i: number, outQuads: number, threadsX: number, acc: (i: number, c: number) => string, partial: boolean): string {
  return `${partial ? `        // a split's part: its output normalised by its own sum, then its max and sum (the merge weighs the parts)
        var inv = 0.0;
        if (total > 0.0) { inv = 1.0 / total; }
        if (row < uniforms.nq) {
          let base = ((split * uniforms.slices + slice) * uniforms.nq + row) * (uniforms.dv + 2);
          if (tx == 0) { result[base + uniforms.dv] = m[${i}]; result[base + uniforms.dv + 1] = total; }` : `        // rows with no visible key give 0, like the other exact kernels
        var inv = 0.0;
        if (total > 0.0 && m[${i}] > ${MASKED_LOGIT / 2}.0) { inv = 1.0 / total; }
        if (row < uniforms.nq) {
          let base = (slice * uniforms.nq + row) * uniforms.dv;`}
          ${unroll(outQuads, (c) => `{
            let o = ${acc(i, c)} * inv;
            let col = 4 * (tx + ${c * threadsX});
            ${unroll(4, (r) => `if (col + ${r} < uniforms.dv) { result[base + col + ${r}] = o.${COMPONENTS[r]}; }`)}
          }`)}
        }`;
}

/**
 * The WGSL body of the flash-attention program (tfjs-webgpu adds bindings, uniforms, entry point).
 *
 * Logits are in log2 units (uniforms.scale includes log2 e) and exponentials are exp2.
 *
 * Workgroup memory: qT `[dk][rows]` (scaled queries, transposed so 4 rows are one vec4), the key
 * tile `[dk][keys]` (transposed likewise) and the value tile `[keys][dv]` (sharing one buffer
 * unless `prefetch`), pT `[keys][rows]` (the tile's probabilities) and, without subgroups, rowMax
 * (per-invocation partial maxima). Invocation (tx, ty) owns rows ty·TM … and key quads tx,
 * tx + TX, … (interleaved, so neighbours read neighbouring vec4s), and output column quads tx,
 * tx + TX, … of the same rows: its running max m equals its row-mates', so only the max needs a
 * reduction per tile; the row sum stays partial until the end.
 */
export function flashAttentionWgsl(layout: FlashLayout, partial = false, keyRows = false): string {
  const { config, threadsX: TX, dkPadded: D, dvPadded: DVP, invocations: INV, subgroupRows } = layout;
  const { rows: BR, keys: BC, rowsPerThread: TM, keysPerThread: TN } = config;
  const prefetch = config.prefetch === true;
  const [BR4, BC4, TM4, TN4, DV4, D4] = [BR / 4, BC / 4, TM / 4, TN / 4, DVP / 4, D / 4];
  const OC4 = DV4 / TX;
  // swizzle masks of the transposed buffers: qT and pT are BR4 wide, the key tile BC4
  const [qMask, kMask, pMask] = [swizzleMask(config, BR4), swizzleMask(config, BC4), swizzleMask(config, BR4)];
  const kBuf = prefetch ? 'kT' : 'kv';
  const vBuf = prefetch ? 'vS' : 'kv';
  const s = (i: number, j4: number) => `s[${i * TN4 + j4}]`;
  const acc = (i: number, c: number) => `acc[${i * OC4 + c}]`;
  const qRow = (i: number) => `qa${Math.floor(i / 4)}.${COMPONENTS[i % 4]}`;
  // the key tile: BC4·D4 items of (4 keys × one d quad); the value tile: BC·DV4 quads
  const keyItems = Math.ceil((BC4 * D4) / INV);
  const valueItems = Math.ceil((BC * DV4) / INV);
  const guard = (total: number, it: number, body: string) => ((it + 1) * INV <= total ? `{ ${body} }` : `if (tid + ${it * INV} < ${total}) { ${body} }`);
  const loadKeys = (k0: string) =>
    unroll(keyItems, (it) => guard(BC4 * D4, it, `let e = tid + ${it * INV}; let d4 = e % ${D4}; let key = ${k0} + 4 * (e / ${D4});
      ${unroll(4, (r) => `kReg[${4 * it + r}] = kQuad(kvSlice, key + ${r}, d4);`)}`));
  const storeKeys = unroll(keyItems, (it) => guard(BC4 * D4, it, `let e = tid + ${it * INV};
      ${storeTransposed(kBuf, BC4, [0, 1, 2, 3].map((r) => `kReg[${4 * it + r}]`), `(e % ${D4})`, `(e / ${D4})`, kMask)}`));
  const loadValues = (k0: string) => unroll(valueItems, (it) => guard(BC * DV4, it, `let e = tid + ${it * INV}; vReg[${it}] = vQuad(kvSlice, ${k0} + e / ${DV4}, e % ${DV4});`));
  const storeValues = unroll(valueItems, (it) => guard(BC * DV4, it, `${vBuf}[tid + ${it * INV}] = vReg[${it}];`));
  const rowReduce = (value: string, op: 'max' | 'add') =>
    unroll(Math.log2(TX), (b) => (op === 'max' ? `${value} = max(${value}, subgroupShuffleXor(${value}, ${1 << b}u));` : `${value} = ${value} + subgroupShuffleXor(${value}, ${1 << b}u);`));
  const tileMaxOfRow = (i: number) => `max(${unroll(TN4, (b) => `max(max(${s(i, b)}.x, ${s(i, b)}.y), max(${s(i, b)}.z, ${s(i, b)}.w))`).split('\n').reduce((x, y) => `max(${x}, ${y})`)}, -3.0e38)`;
  // subgroups: the row's maximum from its TX lanes now; else partial maxima through rowMax after a barrier
  const rowMaxima = subgroupRows
    ? unroll(TM, (i) => `var tileMax${i} = ${tileMaxOfRow(i)};\n${rowReduce(`tileMax${i}`, 'max')}`)
    : unroll(TM, (i) => `rowMax[(ty * ${TM} + ${i}) * ${TX} + tx] = ${tileMaxOfRow(i)};`);
  const readRowMaxima = subgroupRows
    ? ''
    : unroll(TM, (i) => `var tileMax${i} = -3.0e38;
          for (var t = 0; t < ${TX}; t++) { tileMax${i} = max(tileMax${i}, rowMax[(ty * ${TM} + ${i}) * ${TX} + t]); }`);
  const scores = `
        var s : array<vec4<f32>, ${TM * TN4}>;
        ${unroll(TM * TN4, (i) => `s[${i}] = vec4<f32>(0.0);`)}
        for (var d = 0; d < ${D}; d += 4) {
          ${unroll(4, (u) => `{
            ${unroll(TM4, (a) => `let qa${a} = qT[(d + ${u}) * ${BR4} + ${swizzled(`ty * ${TM4} + ${a}`, 'd / 4', qMask)}];`)}
            ${unroll(TN4, (b) => `let kb${b} = ${kBuf}[(d + ${u}) * ${BC4} + ${swizzled(`tx + ${b * TX}`, 'd / 4', kMask)}];`)}
            ${unroll(TM, (i) => unroll(TN4, (b) => `${s(i, b)} = fma(vec4<f32>(${qRow(i)}), kb${b}, ${s(i, b)});`))}
          }`)}
        }
        if (uniforms.hasBias != 0) {
          ${unroll(TN4, (b) => `{
            let key = k0 + 4 * (tx + ${b * TX});
            var bias = vec4<f32>(0.0);
            ${unroll(4, (c) => `if (key + ${c} < uniforms.nk) { bias.${COMPONENTS[c]} = Bias[batch * uniforms.nk + key + ${c}]; }`)}
            ${unroll(TM, (i) => `${s(i, b)} = ${s(i, b)} + bias;`)}
          }`)}
        }
        // only the tile past nk and the tiles crossing the diagonal need a per-key test
        if (k0 + ${BC} > uniforms.nk || k0 + ${BC - 1} > row0 + uniforms.offset) {
          ${unroll(TN4, (b) => unroll(4, (c) => `{
            let key = k0 + 4 * (tx + ${b * TX}) + ${c};
            ${unroll(TM, (i) => `if (key >= uniforms.nk || key > myRow0 + ${i} + uniforms.offset) { ${s(i, b)}.${COMPONENTS[c]} = -3.0e38; }`)}
          }`))}
        }`;
  const softmaxUpdate = `
        ${unroll(TM, (i) => `{
          let mNew = max(m[${i}], tileMax${i});
          let corr = exp2(m[${i}] - mNew);
          m[${i}] = mNew;
          // masked scores are -3e38: against a reference of at least -1e30 their exp2 is 0 even in a
          // row whose keys so far are all masked (mNew = -3e38), so no per-score test is needed
          let mRef = vec4<f32>(max(mNew, -1.0e30));
          var rowSum = l[${i}] * corr;
          ${unroll(OC4, (c) => `${acc(i, c)} = ${acc(i, c)} * corr;`)}
          ${unroll(TN4, (b) => `${s(i, b)} = exp2(${s(i, b)} - mRef);
          rowSum = rowSum + dot(${s(i, b)}, vec4<f32>(1.0));`)}
          l[${i}] = rowSum;
        }`)}
        ${unroll(TN4, (b) => unroll(4, (c) => unroll(TM4, (a) => `pT[(4 * (tx + ${b * TX}) + ${c}) * ${BR4} + ${swizzled(`ty * ${TM4} + ${a}`, `tx + ${b * TX}`, pMask)}] = vec4<f32>(${unroll(4, (r) => `${s(4 * a + r, b)}.${COMPONENTS[c]}`).split('\n').join(', ')});`)))}`;
  const probabilitiesTimesValues = `
        for (var j = 0; j < ${BC}; j += 4) {
          ${unroll(4, (u) => `{
            ${unroll(TM4, (a) => `let qa${a} = pT[(j + ${u}) * ${BR4} + ${swizzled(`ty * ${TM4} + ${a}`, 'j / 4', pMask)}];`)}
            ${unroll(OC4, (c) => `let vb${c} = ${vBuf}[(j + ${u}) * ${DV4} + tx + ${c * TX}];`)}
            ${unroll(TM, (i) => unroll(OC4, (c) => `${acc(i, c)} = fma(vec4<f32>(${qRow(i)}), vb${c}, ${acc(i, c)});`))}
          }`)}
        }`;
  // the row maxima, the softmax and the stored probabilities (a barrier between when the maxima go through rowMax)
  const softmaxOfTile = `${rowMaxima}
        ${subgroupRows ? '' : 'workgroupBarrier();'}
        ${readRowMaxima}
        ${softmaxUpdate}`;
  // the value tile into the shared k/v buffer once every invocation is done with the key tile
  const valuesOverKeys = `${loadValues('k0')}
        ${storeValues}`;
  // one key tile: prefetch stores the tile read last iteration and reads the next one while this
  // one is computed; the shared buffer takes the value tile after the keys (lateValues: after the
  // softmax too, so the scores' registers are free while it loads)
  const tileBody = prefetch
    ? `${storeKeys}
        ${storeValues}
        workgroupBarrier();
        if (k0 + ${BC} < kEnd) { ${loadKeys(`k0 + ${BC}`)} ${loadValues(`k0 + ${BC}`)} }
        ${scores}
        ${softmaxOfTile}`
    : `${loadKeys('k0')}
        ${storeKeys}
        workgroupBarrier();
        ${scores}
        ${
          config.lateValues
            ? `${softmaxOfTile}
        workgroupBarrier();
        ${valuesOverKeys}`
            : `${rowMaxima}
        workgroupBarrier();
        ${valuesOverKeys}
        ${readRowMaxima}
        ${softmaxUpdate}`
        }`;
  const keyLoop = `
      ${prefetch ? `if (kBegin < kEnd) { ${loadKeys('kBegin')} ${loadValues('kBegin')} }` : ''}
      for (var k0 = kBegin; k0 < kEnd; k0 += ${BC}) {
        ${tileBody}
        workgroupBarrier();
        ${probabilitiesTimesValues}
        workgroupBarrier();
      }`;
  // row sums: each invocation holds the part over its own keys
  const rowTotals = subgroupRows
    ? unroll(TM, (i) => `var total${i} = l[${i}];\n${rowReduce(`total${i}`, 'add')}`)
    : `${unroll(TM, (i) => `rowMax[(ty * ${TM} + ${i}) * ${TX} + tx] = l[${i}];`)}
      workgroupBarrier();
      ${unroll(TM, (i) => `var total${i} = 0.0;
      for (var t = 0; t < ${TX}; t++) { total${i} = total${i} + rowMax[(ty * ${TM} + ${i}) * ${TX} + t]; }`)}`;
  return `
    ${subgroupRows ? 'enable subgroups;' : ''}
    var<workgroup> qT : array<vec4<f32>, ${D * BR4}>;
    ${prefetch ? `var<workgroup> kT : array<vec4<f32>, ${D * BC4}>;\n    var<workgroup> vS : array<vec4<f32>, ${BC * DV4}>;` : `var<workgroup> kv : array<vec4<f32>, ${Math.max(D * BC4, BC * DV4)}>;`}
    var<workgroup> pT : array<vec4<f32>, ${BC * BR4}>;
    ${subgroupRows ? '' : `var<workgroup> rowMax : array<f32, ${BR * TX}>;`}
    ${quadReaders(layout, keyRows)}

    fn main(index : i32) {
      let tid = i32(localIndex);
      let tx = tid % ${TX};
      let ty = tid / ${TX};
      // tfjs hands the workgroup id over in a private variable, which WGSL's uniformity analysis
      // treats as varying; loading it through workgroup memory makes it uniform, so the loop over
      // key tiles (and its barriers) can stop at the causal diagonal. pT's first entry carries it,
      // before any probability is stored there (the largest tiles fill 48 KiB exactly), as a float
      // value (exact below 2^24 workgroups), not its bits: those would be a denormal, which devices
      // that flush denormals turn into 0
      if (tid == 0) { pT[0] = vec4<f32>(f32(${WGSL_WORKGROUP_INDEX}), 0.0, 0.0, 0.0); }
      let wg = i32(workgroupUniformLoad(&pT[0]).x);
      let blocks = (uniforms.nq + ${BR - 1}) / ${BR};
      let perSplit = uniforms.slices * blocks;
      if (wg >= uniforms.splits * perSplit) { return; }
      let split = wg / perSplit;
      let slice = (wg % perSplit) / blocks;
      // last query blocks first: under a causal mask they see the most keys, so the long workgroups start early
      let row0 = (blocks - 1 - wg % blocks) * ${BR};
      let kvSlice = slice / uniforms.group;
      let batch = (uniforms.kvSliceOffset + kvSlice) / uniforms.kvHeads;
      let myRow0 = row0 + ty * ${TM};

      for (var e = tid; e < ${BR4 * D4}; e += ${INV}) {
        let d4 = e % ${D4};
        let r4 = e / ${D4};
        ${unroll(4, (r) => `let q${r} = qQuad(slice, row0 + 4 * r4 + ${r}, d4);`)}
        ${storeTransposed('qT', BR4, ['q0', 'q1', 'q2', 'q3'], 'd4', 'r4', qMask)}
      }

      var m : array<f32, ${TM}>;
      var l : array<f32, ${TM}>;
      var acc : array<vec4<f32>, ${TM * OC4}>;
      var kReg : array<vec4<f32>, ${4 * keyItems}>;
      var vReg : array<vec4<f32>, ${valueItems}>;
      ${unroll(TM, (i) => `m[${i}] = -3.0e38; l[${i}] = 0.0;`)}
      ${unroll(TM * OC4, (i) => `acc[${i}] = vec4<f32>(0.0);`)}

      // keys any row of this block may see (causal: up to the last row's diagonal)
      // and of those, this workgroup's share of the key splits (multiples of the key tile)
      let kBegin = split * uniforms.keysPerSplit;
      let kEnd = min(min(uniforms.nk, row0 + ${BR} + uniforms.offset), kBegin + uniforms.keysPerSplit);
      ${keyLoop}

      ${rowTotals}
      ${unroll(TM, (i) => `{
        let row = myRow0 + ${i};
        let total = total${i};
${rowOutputWgsl(i, OC4, TX, acc, partial)}
      }`)}
    }
  `;
}


/**
 * The merge of key-split parts `[splits, rows, dv + 2]` (each row: its output over its keys, then
 * its max m (in log2 units, as the program computes) and sum l) into `[rows, dv]`: weights
 * l·2^(m − M) with M the largest m; rows whose
 * best logit is a masked one (or that saw no key) give 0, like the one-pass program.
 */
export function flashMergeWgsl(log2Units = true): string {
  return `
    fn main(index : i32) {
      let rows = uniforms.rows;
      if (index >= rows * uniforms.dv) { return; }
      let row = index / uniforms.dv;
      let col = index % uniforms.dv;
      let stride = uniforms.dv + 2;
      var best = -3.0e38;
      for (var s = 0; s < uniforms.splits; s++) { best = max(best, Parts[(s * rows + row) * stride + uniforms.dv]); }
      var weight = 0.0;
      var sum = 0.0;
      for (var s = 0; s < uniforms.splits; s++) {
        let base = (s * rows + row) * stride;
        let w = Parts[base + uniforms.dv + 1] * ${log2Units ? 'exp2' : 'exp'}(Parts[base + uniforms.dv] - best);
        weight = weight + w;
        sum = sum + w * Parts[base + col];
      }
      var out = 0.0;
      if (weight > 0.0 && best > ${MASKED_LOGIT / 2}.0) { out = sum / weight; }
      result[index] = out;
    }
  `;
}
