// Times loading a GPT-2-small-shaped checkpoint (random weights, written by this script to a
// temporary folder and deleted after; never committed) and measures the memory it takes.
// Each measurement runs in a fresh Node process so the figures are not polluted by an earlier load.
// Run from the repo root after `npx tsc -b tsconfig.build.json`:
//   node cli/scripts/bench-loading.cjs [--runs 3] [--dtype F32|F16|BF16] [--write-docs]
//   node cli/scripts/bench-loading.cjs --write-checkpoint <dir> [F32|F16|BF16]   (only writes the random checkpoint)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const GPT2_SMALL = { vocab: 50257, positions: 1024, d: 768, layers: 12 };

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
function writeRandomCheckpoint(dir, dtype) {
  const { vocab, positions, d, layers } = GPT2_SMALL;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: vocab, n_positions: positions, n_embd: d, n_layer: layers, n_head: 12, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true }));
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const tensors = gpt2Tensors(GPT2_SMALL);
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
  if (args[0] === '--write-checkpoint') return void writeRandomCheckpoint(args[1], args[2] ?? 'F32'); // for other measurements (infer outputs)
  const runs = Number(args[args.indexOf('--runs') + 1] || 3) || 3;
  const dtype = args.includes('--dtype') ? args[args.indexOf('--dtype') + 1] : 'F32';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-bench-gpt2-'));
  try {
    const params = writeRandomCheckpoint(dir, dtype);
    const f32Bytes = params * 4;
    const results = {};
    for (const mode of ['load', 'draw']) {
      results[mode] = [];
      for (let i = 0; i < (mode === 'draw' ? 1 : runs); i++) {
        const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--child', dir, mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
        results[mode].push(JSON.parse(out.trim().split('\n').pop()));
      }
    }
    const load = results.load;
    const summary = {
      checkpoint: `GPT-2 small shape (${(params / 1e6).toFixed(1)} M parameters, ${dtype}, ${(fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20).toFixed(0)} MiB file; float32 size ${(f32Bytes / 2 ** 20).toFixed(0)} MiB)`,
      machine: `${os.cpus().length} × ${os.cpus()[0].model}, Node ${process.version}, tfjs wasm`,
      loadMs: load.map((r) => Math.round(r.ms)),
      loadMsMedian: Math.round(median(load.map((r) => r.ms))),
      loadCpuMsMedian: Math.round(median(load.map((r) => r.cpuMs))),
      loadAverage1m: os.loadavg()[0], // other processes on the cores: wall times mean little when this exceeds the core count
      rssGrowthAfterLoad: median(load.map((r) => (r.rssAfter - r.rssBefore) / f32Bytes)),
      peakRssGrowth: median(load.map((r) => (r.maxRss - r.rssBefore) / f32Bytes)),
      drawBuildMs: Math.round(results.draw[0].ms),
      drawBuildCpuMs: Math.round(results.draw[0].cpuMs),
      allFinite: load.every((r) => r.finite),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (args.includes('--write-docs')) fs.writeFileSync(path.join(__dirname, `../../docs/benchmarks/loading-${dtype.toLowerCase()}.json`), `${JSON.stringify({ summary, results }, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
