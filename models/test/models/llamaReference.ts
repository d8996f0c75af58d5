/**
 * A float64 plain-loop Llama forward written from transformers' modeling_llama math — RMSNorm
 * (mean of squares, then the weight), rotate_half rotary embedding on the two halves of each
 * head, repeat_kv (k/v head j serves query heads j·g … j·g + g − 1), causal softmax, SiLU-gated
 * MLP — reading the weights in their checkpoint layout (nn.Linear `[out, in]`). It shares no
 * code with the tfjs graph except the rotary frequencies, so it catches layout, head-order and
 * rotation mistakes in the graph.
 */
import { rotaryInverseFrequencies, type LlamaModel } from '@swapformer/models';

type Weights = Map<string, { data: Float64Array; shape: readonly number[] }>;

/** The model's weights in checkpoint layout, as float64. */
export function checkpointWeights(model: LlamaModel): Weights {
  const out: Weights = new Map();
  for (const p of model.parameters()) {
    const data = Float64Array.from(p.variable.dataSync());
    if (p.layout !== 'linear') out.set(p.name, { data, shape: p.hfShape });
    else {
      const [rows, cols] = p.variable.shape; // graph [in, out] → checkpoint [out, in]
      const t = new Float64Array(data.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c];
      out.set(p.name, { data: t, shape: [cols, rows] });
    }
  }
  return out;
}

/** `x W^T + b` for rows of x, W `[out, in]`. */
function linear(x: Float64Array[], w: { data: Float64Array; shape: readonly number[] }, b?: { data: Float64Array }): Float64Array[] {
  const [outs, ins] = w.shape;
  return x.map((row) => {
    const y = new Float64Array(outs);
    for (let o = 0; o < outs; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < ins; i++) s += row[i] * w.data[o * ins + i];
      y[o] = s;
    }
    return y;
  });
}

function rms(x: Float64Array[], w: Float64Array, eps: number): Float64Array[] {
  return x.map((row) => {
    const ms = row.reduce((a, v) => a + v * v, 0) / row.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => v * inv * w[i]);
  });
}

/** Logits `[b][t][V]` (or hidden states for a bare model) of the float64 reference. */
export function referenceLlamaForward(model: LlamaModel, ids: number[][]): number[][][] {
  const c = model.modelConfig;
  const W = checkpointWeights(model);
  const base = c.lmHead ? 'model.' : '';
  const H = c.numHeads;
  const KV = c.numKeyValueHeads ?? H;
  const hd = c.headDim ?? c.hiddenSize / H;
  const get = (name: string) => W.get(name)!;
  return ids.map((seq) => {
    const T = seq.length;
    const inv = rotaryInverseFrequencies(c.rope, hd, c.maxPositionEmbeddings, T);
    const rotate = (v: Float64Array, offset: number, pos: number): Float64Array => {
      const out = new Float64Array(hd);
      for (let i = 0; i < hd; i++) {
        const f = inv[i % (hd / 2)] * pos;
        const partner = i < hd / 2 ? -v[offset + i + hd / 2] : v[offset + i - hd / 2];
        out[i] = v[offset + i] * Math.cos(f) + partner * Math.sin(f);
      }
      return out;
    };
    const emb = get(`${base}embed_tokens.weight`);
    let x = seq.map((id) => emb.data.slice(id * c.hiddenSize, (id + 1) * c.hiddenSize));
    for (let l = 0; l < c.numLayers; l++) {
      const p = `${base}layers.${l}`;
      const h = rms(x, get(`${p}.input_layernorm.weight`).data, c.rmsNormEps);
      const q = linear(h, get(`${p}.self_attn.q_proj.weight`), W.get(`${p}.self_attn.q_proj.bias`));
      const k = linear(h, get(`${p}.self_attn.k_proj.weight`), W.get(`${p}.self_attn.k_proj.bias`));
      const v = linear(h, get(`${p}.self_attn.v_proj.weight`), W.get(`${p}.self_attn.v_proj.bias`));
      const attended = x.map(() => new Float64Array(H * hd));
      for (let head = 0; head < H; head++) {
        const kvHead = Math.floor(head / (H / KV));
        for (let i = 0; i < T; i++) {
          const qi = rotate(q[i], head * hd, i);
          const scores = Array.from({ length: i + 1 }, (_, j) => {
            const kj = rotate(k[j], kvHead * hd, j);
            return qi.reduce((a, qv, d) => a + qv * kj[d], 0) / Math.sqrt(hd);
          });
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const z = e.reduce((a, b) => a + b, 0);
          for (let j = 0; j <= i; j++) for (let d = 0; d < hd; d++) attended[i][head * hd + d] += (e[j] / z) * v[j][kvHead * hd + d];
        }
      }
      const o = linear(attended, get(`${p}.self_attn.o_proj.weight`), W.get(`${p}.self_attn.o_proj.bias`));
      x = x.map((row, i) => row.map((val, d) => val + o[i][d]));
      const h2 = rms(x, get(`${p}.post_attention_layernorm.weight`).data, c.rmsNormEps);
      const gate = linear(h2, get(`${p}.mlp.gate_proj.weight`), W.get(`${p}.mlp.gate_proj.bias`));
      const up = linear(h2, get(`${p}.mlp.up_proj.weight`), W.get(`${p}.mlp.up_proj.bias`));
      const inner = gate.map((g, i) => g.map((gv, j) => (gv / (1 + Math.exp(-gv))) * up[i][j]));
      const down = linear(inner, get(`${p}.mlp.down_proj.weight`), W.get(`${p}.mlp.down_proj.bias`));
      x = x.map((row, i) => row.map((val, d) => val + down[i][d]));
    }
    const final = rms(x, get(`${base}norm.weight`).data, c.rmsNormEps);
    if (!c.lmHead) return final.map((r) => Array.from(r));
    const head = c.tieWordEmbeddings ? emb : get('lm_head.weight');
    return linear(final, head).map((r) => Array.from(r));
  });
}
