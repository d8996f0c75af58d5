// Times loading a checkpoint of a real model's shape (random weights, written by this script to a
// temporary folder and deleted after; never committed) and measures the memory it takes.
// Shapes: gpt2-small (default), smollm2-135m, smollm2-360m and tinyllama-1.1b (Llama family, GQA, hub key names;
// TinyLlama's 4.1 GiB of float32 weights exceed the wasm heap, which loadCheckpoint refuses up front).
// Each measurement runs in a fresh Node process so the figures are not polluted by an earlier load.
// Run from the repo root after `npx tsc -b tsconfig.build.json`:
//   node cli/scripts/bench-loading.cjs [--shape gpt2-small|smollm2-135m|smollm2-360m|tinyllama-1.1b] [--runs 3] [--dtype F32|F16|BF16] [--write-docs]
//   node cli/scripts/bench-loading.cjs --write-checkpoint <dir> [F32|F16|BF16] [shape]   (only writes the random checkpoint)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const GPT2_SMALL = { vocab: 50257, positions: 1024, d: 768, layers: 12 };

/** Llama-family shapes as their hub config.json states them (SmolLM2-135M: tied head; TinyLlama-1.1B: untied). */
const LLAMA_SHAPES = {
  'smollm2-135m': { label: 'SmolLM2-135M shape', vocab: 49152, d: 576, layers: 30, heads: 9, kvHeads: 3, inter: 1536, tied: true },
  'smollm2-360m': { label: 'SmolLM2-360M shape', vocab: 49152, d: 960, layers: 32, heads: 15, kvHeads: 5, inter: 2560, tied: true },
  'tinyllama-1.1b': { label: 'TinyLlama-1.1B shape', vocab: 32000, d: 2048, layers: 22, heads: 32, kvHeads: 4, inter: 5632, tied: false },
};

/** The tensors of LlamaForCausalLM as the hub stores them (nn.Linear [out, in]). */
function llamaTensors({ vocab, d, layers, heads, kvHeads, inter, tied }) {
  const hd = d / heads;
  const t = [['model.embed_tokens.weight', [vocab, d]]];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    t.push([`${p}input_layernorm.weight`, [d]], [`${p}self_attn.q_proj.weight`, [heads * hd, d]], [`${p}self_attn.k_proj.weight`, [kvHeads * hd, d]]);
    t.push([`${p}self_attn.v_proj.weight`, [kvHeads * hd, d]], [`${p}self_attn.o_proj.weight`, [d, heads * hd]], [`${p}post_attention_layernorm.weight`, [d]]);
    t.push([`${p}mlp.gate_proj.weight`, [inter, d]], [`${p}mlp.up_proj.weight`, [inter, d]], [`${p}mlp.down_proj.weight`, [d, inter]]);
  }
  t.push(['model.norm.weight', [d]]);
  if (!tied) t.push(['lm_head.weight', [vocab, d]]);
  return t;
}

function llamaConfig({ vocab, d, layers, heads, kvHeads, inter, tied }) {
  return { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: vocab, hidden_size: d, intermediate_size: inter, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kvHeads, hidden_act: 'silu', max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: tied };
}

function gpt2Config({ vocab, positions, d, layers }) {
  return { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: vocab, n_positions: positions, n_embd: d, n_layer: layers, n_head: 12, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true };
}

function modelShape(name) {
  if (name === 'gpt2-small') return { label: 'GPT-2 small shape', config: gpt2Config(GPT2_SMALL), tensors: gpt2Tensors(GPT2_SMALL) };
  const llama = LLAMA_SHAPES[name];
  if (!llama) throw new Error(`unknown --shape "${name}"; valid: gpt2-small, ${Object.keys(LLAMA_SHAPES).join(', ')}`);
  return { label: llama.label, config: llamaConfig(llama), tensors: llamaTensors(llama) };
}

/** The tensors of GPT2LMHeadModel as the hub stores them (Conv1D [in, out]; lm_head tied, absent). */
function gpt2Tensors({ vocab, positions, d, layers }) {
  const t = [['transformer.wte.weight', [vocab, d]], ['transformer.wpe.weight', [positions, d]]];
  for (let i = 0; i < layers; i++) {
    const p = `transformer.h.${i}.`;
    t.push([`${p}ln_1.weight`, [d]], [`${p}ln_1.bias`, [d]], [`${p}attn.c_attn.weight`, [d, 3 * d]], [`${p}attn.c_attn.bias`, [3 * d]]);
    t.push([`${p}attn.c_proj.weight`, [d, d]], [`${p}attn.c_proj.bias`, [d]], [`${p}ln_2.weight`, [d]], [`${p}ln_2.bias`, [d]]);
    t.push([`${p}mlp.c_fc.weight`, [d, 4 * d]], [`${p}mlp.c_fc.bias`, [4 * d]], [`${p}mlp.c_proj.weight`, [4 * d, d]], [`${p}mlp.c_proj.bias`, [d]]);
  }
  t.push(['transformer.ln_f.weight', [d]], ['transformer.ln_f.bias', [d]]);
  return t;
}

/** Writes the safetensors file tensor by tensor, so the writer never holds the whole model. */
function writeRandomCheckpoint(dir, dtype, shape = modelShape('gpt2-small')) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(shape.config));
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const tensors = shape.tensors;
  const header = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, s) => a * s, 1) * bytesPer;
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = fs.openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  let state = 12345;
  for (const [, shape] of tensors) {
    const count = shape.reduce((a, s) => a * s, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      values[i] = (state / 2 ** 32 - 0.5) * 0.04;
    }
    let out = Buffer.from(values.buffer);
    if (dtype !== 'F32') {
      out = Buffer.alloc(count * 2);
      const bits = new Uint32Array(values.buffer);
      // truncation is enough for a benchmark: only the byte count and conversion cost matter
      for (let i = 0; i < count; i++) out.writeUInt16LE(dtype === 'BF16' ? bits[i] >>> 16 : ((bits[i] >>> 16) & 0x8000) | Math.max(0, ((bits[i] >>> 23) & 0xff) - 112) << 10 | ((bits[i] >>> 13) & 0x3ff), i * 2);
    }
    fs.writeSync(fd, out);
  }
  fs.closeSync(fd);
  return tensors.reduce((a, [, shape]) => a + shape.reduce((x, s) => x * s, 1), 0);
}

/** Child: one load in a fresh process; prints one JSON line. */
async function measureOnce(dir, mode) {
  const tf = require('@tensorflow/tfjs-core');
  const { createCliSession, startBackend } = require('../dist/cli/createCliSession');
  const models = require('@swapformer/models');
  await startBackend('wasm', true);
  const { registry } = createCliSession({ warnRefused: false, cwd: path.join(__dirname, '../..') });
  global.gc?.();
  const before = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let model;
  if (mode === 'load') model = models.loadCheckpoint(dir, registry);
  else {
    // what loading did before: build with seeded random draws (the load then overwrote them)
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    model = models.buildModel(models.fromHfConfig(json).config, { name: 'exact' }, registry);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000; // less sensitive than wall time to other processes on the cores
  const maxRss = process.resourceUsage().maxRSS * 1024; // before the forward pass below adds its own
  global.gc?.();
  const after = process.memoryUsage();
  const logits = model.forward(tf.tensor2d([[464, 2068]], [1, 2], 'int32'));
  const finite = Number.isFinite(logits.dataSync()[0]);
  logits.dispose();
  model.dispose();
  process.stdout.write(`${JSON.stringify({ mode, ms, cpuMs, rssBefore: before.rss, rssAfter: after.rss, maxRss, finite })}\n`);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return measureOnce(args[1], args[2]);
  if (args[0] === '--write-checkpoint') return void writeRandomCheckpoint(args[1], args[2] ?? 'F32', modelShape(args[3] ?? 'gpt2-small')); // for other measurements (infer outputs)
  const runs = Number(args[args.indexOf('--runs') + 1] || 3) || 3;
  const dtype = args.includes('--dtype') ? args[args.indexOf('--dtype') + 1] : 'F32';
  const shapeName = args.includes('--shape') ? args[args.indexOf('--shape') + 1] : 'gpt2-small';
  const shape = modelShape(shapeName);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-bench-load-'));
  try {
    const params = writeRandomCheckpoint(dir, dtype, shape);
    const f32Bytes = params * 4;
    const results = { draw: [] };
    // the seeded-draw build (what loading did before issue 18) is timed once, for GPT-2 small only
    for (const mode of shapeName === 'gpt2-small' ? ['load', 'draw'] : ['load']) {
      results[mode] = [];
      for (let i = 0; i < (mode === 'draw' ? 1 : runs); i++) {
        const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--child', dir, mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
        results[mode].push(JSON.parse(out.trim().split('\n').pop()));
      }
    }
    const load = results.load;
    const summary = {
      checkpoint: `${shape.label} (${(params / 1e6).toFixed(1)} M parameters, ${dtype}, ${(fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20).toFixed(0)} MiB file; float32 size ${(f32Bytes / 2 ** 20).toFixed(0)} MiB)`,
      machine: `${os.cpus().length} × ${os.cpus()[0].model}, Node ${process.version}, tfjs wasm`,
      loadMs: load.map((r) => Math.round(r.ms)),
      loadMsMedian: Math.round(median(load.map((r) => r.ms))),
      loadCpuMsMedian: Math.round(median(load.map((r) => r.cpuMs))),
      loadAverage1m: os.loadavg()[0], // other processes on the cores: wall times mean little when this exceeds the core count
      rssGrowthAfterLoad: median(load.map((r) => (r.rssAfter - r.rssBefore) / f32Bytes)),
      peakRssGrowth: median(load.map((r) => (r.maxRss - r.rssBefore) / f32Bytes)),
      drawBuildMs: results.draw[0] ? Math.round(results.draw[0].ms) : null,
      drawBuildCpuMs: results.draw[0] ? Math.round(results.draw[0].cpuMs) : null,
      allFinite: load.every((r) => r.finite),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (args.includes('--write-docs')) fs.writeFileSync(path.join(__dirname, `../../docs/benchmarks/loading-${shapeName === 'gpt2-small' ? '' : `${shapeName}-`}${dtype.toLowerCase()}.json`), `${JSON.stringify({ summary, results }, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
