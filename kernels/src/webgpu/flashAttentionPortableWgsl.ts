import { COMPONENTS, keyRowWgsl, rowOutputWgsl, unroll, type FlashLayout } from './flashAttentionWgsl';
import { WGSL_WORKGROUP_INDEX } from './runWebGpuProgram';

/*
 * The flash program as it was before subgroups (session 10): scalar loads, one step per inner
 * iteration, exp, a workgroup slot for the workgroup id. fusedWebGpuAttention runs it on devices
 * without subgroups (browsers: tfjs asks for none there). Why a second program: headless
 * Chromium's software WebGPU (SwiftShader) lost its device on the subgroup-era program even with
 * its subgroup, vec4, unrolling and schedule features off (test/browser/demoWebGpu.test.ts), and
 * the cause is not found yet; this one runs there. Logits in natural units (the merge is told).
 */

/**
 * The WGSL body of the flash-attention program (tfjs-webgpu adds bindings, uniforms, entry point).
 *
 * Workgroup memory: qT `[dk][rows]` (scaled queries, transposed so 4 rows are one vec4), kv (the key
 * tile `[dk][keys]`, then the value tile `[keys][dv]` in the same space), pT `[keys][rows]` (the
 * tile's probabilities) and rowMax (per-invocation partial maxima). Invocation (tx, ty) owns rows
 * ty·TM … and key quads tx, tx + TX, … (interleaved, so neighbours read neighbouring vec4s), and
 * output column quads tx, tx + TX, … of the same rows: its running max m equals its row-mates',
 * so only the max needs a reduction per tile; the row sum stays partial until the end.
 */
export function portableFlashAttentionWgsl(layout: FlashLayout, partial = false, keyRows = false): string {
  const { config, threadsX: TX, dkPadded: D, dvPadded: DVP } = layout;
  const { rows: BR, keys: BC, rowsPerThread: TM, keysPerThread: TN } = config;
  const BR4 = BR / 4;
  const BC4 = BC / 4;
  const TM4 = TM / 4;
  const TN4 = TN / 4;
  const DV4 = DVP / 4;
  const OC4 = DV4 / TX;
  const s = (i: number, j4: number) => `s[${i * TN4 + j4}]`;
  const acc = (i: number, c: number) => `acc[${i * OC4 + c}]`;
  const qRow = (i: number) => `qa${Math.floor(i / 4)}.${COMPONENTS[i % 4]}`;
  return `
    var<workgroup> qT : array<vec4<f32>, ${D * BR4}>;
    var<workgroup> kv : array<vec4<f32>, ${Math.max(D * BC4, BC * DV4)}>;
    var<workgroup> pT : array<vec4<f32>, ${BC * BR4}>;
    var<workgroup> rowMax : array<f32, ${BR * TX}>;
    var<workgroup> workgroupSlot : i32;

    fn qAt(slice : i32, row : i32, d : i32) -> f32 {
      if (row < uniforms.nq && d < uniforms.dk) { return Q[(slice * uniforms.nq + row) * uniforms.dk + d] * uniforms.scale; }
      return 0.0;
    }
    ${keyRowWgsl(keyRows)}
    fn kAt(slice : i32, key : i32, d : i32) -> f32 {
      if (key < uniforms.nk && d < uniforms.dk) { return K[keyRow(slice, key) * uniforms.dk + d]; }
      return 0.0;
    }
    fn vAt(slice : i32, key : i32, c : i32) -> f32 {
      if (key < uniforms.nk && c < uniforms.dv) { return V[keyRow(slice, key) * uniforms.dv + c]; }
      return 0.0;
    }

    fn main(index : i32) {
      let tid = i32(localIndex);
      let tx = tid % ${TX};
      let ty = tid / ${TX};
      // tfjs hands the workgroup id over in a private variable, which WGSL's uniformity analysis
      // treats as varying; loading it through workgroup memory makes it uniform, so the loop over
      // key tiles (and its barriers) can stop at the causal diagonal
      if (tid == 0) { workgroupSlot = ${WGSL_WORKGROUP_INDEX}; }
      let wg = workgroupUniformLoad(&workgroupSlot);
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

      for (var e = tid; e < ${D * BR4}; e += ${layout.invocations}) {
        let d = e % ${D};
        let r = 4 * (e / ${D});
        qT[d * ${BR4} + r / 4] = vec4<f32>(qAt(slice, row0 + r, d), qAt(slice, row0 + r + 1, d), qAt(slice, row0 + r + 2, d), qAt(slice, row0 + r + 3, d));
      }

      var m : array<f32, ${TM}>;
      var l : array<f32, ${TM}>;
      var acc : array<vec4<f32>, ${TM * OC4}>;
      ${unroll(TM, (i) => `m[${i}] = -3.0e38; l[${i}] = 0.0;`)}
      ${unroll(TM * OC4, (i) => `acc[${i}] = vec4<f32>(0.0);`)}

      // keys any row of this block may see (causal: up to the last row's diagonal)
      // and of those, this workgroup's share of the key splits (multiples of the key tile)
      let kBegin = split * uniforms.keysPerSplit;
      let kEnd = min(min(uniforms.nk, row0 + ${BR} + uniforms.offset), kBegin + uniforms.keysPerSplit);
      for (var k0 = kBegin; k0 < kEnd; k0 += ${BC}) {
        for (var e = tid; e < ${D * BC4}; e += ${layout.invocations}) {
          let d = e % ${D};
          let key = k0 + 4 * (e / ${D});
          kv[d * ${BC4} + (key - k0) / 4] = vec4<f32>(kAt(kvSlice, key, d), kAt(kvSlice, key + 1, d), kAt(kvSlice, key + 2, d), kAt(kvSlice, key + 3, d));
        }
        workgroupBarrier();

        var s : array<vec4<f32>, ${TM * TN4}>;
        ${unroll(TM * TN4, (i) => `s[${i}] = vec4<f32>(0.0);`)}
        for (var d = 0; d < ${D}; d++) {
          ${unroll(TM4, (a) => `let qa${a} = qT[d * ${BR4} + ty * ${TM4} + ${a}];`)}
          ${unroll(TN4, (b) => `let kb${b} = kv[d * ${BC4} + tx + ${b * TX}];`)}
          ${unroll(TM, (i) => unroll(TN4, (b) => `${s(i, b)} = fma(vec4<f32>(${qRow(i)}), kb${b}, ${s(i, b)});`))}
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
        }
        ${unroll(TM, (i) => `rowMax[(ty * ${TM} + ${i}) * ${TX} + tx] = max(${unroll(TN4, (b) => `max(max(${s(i, b)}.x, ${s(i, b)}.y), max(${s(i, b)}.z, ${s(i, b)}.w))`).split('\n').reduce((x, y) => `max(${x}, ${y})`)}, -3.0e38);`)}
        workgroupBarrier();

        // the key tile is consumed: the value tile takes its place
        for (var e = tid; e < ${BC * DV4}; e += ${layout.invocations}) {
          let key = k0 + e / ${DV4};
          let c = 4 * (e % ${DV4});
          kv[e] = vec4<f32>(vAt(kvSlice, key, c), vAt(kvSlice, key, c + 1), vAt(kvSlice, key, c + 2), vAt(kvSlice, key, c + 3));
        }
        ${unroll(TM, (i) => `{
          var tileMax = -3.0e38;
          for (var t = 0; t < ${TX}; t++) { tileMax = max(tileMax, rowMax[(ty * ${TM} + ${i}) * ${TX} + t]); }
          let mNew = max(m[${i}], tileMax);
          let corr = exp(m[${i}] - mNew);
          m[${i}] = mNew;
          var rowSum = l[${i}] * corr;
          ${unroll(OC4, (c) => `${acc(i, c)} = ${acc(i, c)} * corr;`)}
          ${unroll(TN4, (b) => `${s(i, b)} = select(exp(${s(i, b)} - vec4<f32>(mNew)), vec4<f32>(0.0), ${s(i, b)} < vec4<f32>(-1.0e38));
          rowSum = rowSum + dot(${s(i, b)}, vec4<f32>(1.0));`)}
          l[${i}] = rowSum;
        }`)}
        ${unroll(TN4, (b) => unroll(4, (c) => unroll(TM4, (a) => `pT[(4 * (tx + ${b * TX}) + ${c}) * ${BR4} + ty * ${TM4} + ${a}] = vec4<f32>(${unroll(4, (r) => `${s(4 * a + r, b)}.${COMPONENTS[c]}`).split('\n').join(', ')});`)))}
        workgroupBarrier();

        for (var j = 0; j < ${BC}; j++) {
          ${unroll(TM4, (a) => `let qa${a} = pT[j * ${BR4} + ty * ${TM4} + ${a}];`)}
          ${unroll(OC4, (c) => `let vb${c} = kv[j * ${DV4} + tx + ${c * TX}];`)}
          ${unroll(TM, (i) => unroll(OC4, (c) => `${acc(i, c)} = fma(vec4<f32>(${qRow(i)}), vb${c}, ${acc(i, c)});`))}
        }
        workgroupBarrier();
      }

      // row sums: each invocation holds the part over its own keys
      ${unroll(TM, (i) => `rowMax[(ty * ${TM} + ${i}) * ${TX} + tx] = l[${i}];`)}
      workgroupBarrier();
      ${unroll(TM, (i) => `{
        let row = myRow0 + ${i};
        var total = 0.0;
        for (var t = 0; t < ${TX}; t++) { total = total + rowMax[(ty * ${TM} + ${i}) * ${TX} + t]; }
${rowOutputWgsl(i, OC4, TX, acc, partial)}
      }`)}
    }
  `;
}
