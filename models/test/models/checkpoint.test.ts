import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose } from '@swapformer/core/conformance';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { buildModel, encodeSafetensors, loadCheckpoint, loadCheckpointWithReport, openSafetensors, saveCheckpoint, type BuiltInModel, type GptModel, type VitModel } from '@swapformer/models';
import { errorOf, gptConfigFixture, idsFixture, pixelsFixture, pixelVitConfigFixture, registryFixture, vitConfigFixture } from './modelFixtures';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-ckpt-'));

/** Rewrites a checkpoint's weights through `edit` (name → data/shape map). */
function editWeights(dir: string, edit: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void): void {
  const st = openSafetensors(path.join(dir, 'model.safetensors'));
  const tensors = new Map([...st.entries.values()].map((e) => [e.name, { shape: [...e.shape], data: st.read(e.name) }]));
  edit(tensors);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
}

/** Reloads `dir` and checks it computes exactly what `model` does on `input` (disposes all). */
function expectReloadMatches(model: BuiltInModel, dir: string, input: tf.Tensor): void {
  const reloaded = loadCheckpoint(dir, registryFixture());
  const [a, b] = [model.forward(input), reloaded.forward(input)];
  expectTensorsClose(b, a, { atol: 0 });
  tf.dispose([input, a, b]);
  model.dispose();
  reloaded.dispose();
}

function savedFixture(config: object, attention?: object): { dir: string; model: BuiltInModel } {
  const model = buildModel(config as never, attention as never, registryFixture());
  const dir = tempDir();
  saveCheckpoint(model, dir);
  return { dir, model };
}

describe('saveCheckpoint / loadCheckpoint', () => {
  for (const [label, config, input] of [
    ['ViT', vitConfigFixture, () => pixelsFixture(2, 3, 8)],
    ['bare ViT with pooler', { ...vitConfigFixture, numLabels: 0, pooler: true }, () => pixelsFixture(1, 3, 8)],
    ['pixel-stage ViT', pixelVitConfigFixture, () => pixelsFixture(2, 1, 8)],
    ['GPT', gptConfigFixture, () => idsFixture(2, 5, 23)],
    ['GPT with an untied head', { ...gptConfigFixture, tieWordEmbeddings: false }, () => idsFixture(1, 5, 23)],
  ] as const) {
    it(`should reload a saved ${label} with identical outputs`, () => {
      const { dir, model } = savedFixture(config);
      const reloaded = loadCheckpoint(dir, registryFixture());
      const x = input();
      const [a, b] = [model.forward(x), reloaded.forward(x)];
      expectTensorsClose(b, a, { atol: 0 });
      expect(reloaded.config).to.deep.equal(model.config);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['config.json', 'model.safetensors']);
      tf.dispose([x, a, b]);
      model.dispose();
      reloaded.dispose();
    });
  }

  it('should save operator-owned state and the attention selection, and reload both', () => {
    const { dir, model } = savedFixture(gptConfigFixture, { default: { name: 'exact' }, overrides: [{ layers: 1, name: 'gain', options: { init: 0.5 } }] });
    const gain = model.parameters().find((p) => p.name === 'transformer.h.1.attn.operator.gain')!;
    gain.variable.assign(tf.fill(gain.variable.shape, 2));
    saveCheckpoint(model, dir);
    const { model: reloaded, report } = loadCheckpointWithReport(dir, registryFixture());
    expect((reloaded as GptModel).layers.map((l) => l.resolved.name)).to.deep.equal(['exact', 'gain']);
    expect(report.operatorInitialised).to.deep.equal([]);
    expect(Array.from(reloaded.parameters().find((p) => p.name === gain.name)!.variable.dataSync())).to.deep.equal([2, 2]);
    model.dispose();
    reloaded.dispose();
  });

  describe('having a swap into pretrained softmax weights', () => {
    it('should leave operator-owned state missing from the checkpoint at its initialisation, and report it', () => {
      const { dir, model } = savedFixture(vitConfigFixture);
      const { model: swapped, report } = loadCheckpointWithReport(dir, registryFixture(), { attention: { name: 'gain' }, training: true });
      expect(report.operatorInitialised).to.deep.equal(['vit.encoder.layer.0.attention.operator.gain', 'vit.encoder.layer.1.attention.operator.gain']);
      const x = pixelsFixture(1, 3, 8);
      const [a, b] = [model.forward(x), swapped.forward(x)];
      expectTensorsClose(b, a, { atol: 1e-5 }); // gain starts at 1: same function
      tf.dispose([x, a, b]);
      model.dispose();
      swapped.dispose();
    });

    it('should run every installed drop-in operator swapped into a saved ViT and (when causal) GPT', () => {
      const registry = createOperatorRegistry();
      registerInstalledPlugins(registry, path.resolve(__dirname, '../../..'));
      const saved = [savedFixture(pixelVitConfigFixture), savedFixture(gptConfigFixture)];
      const inputs = [pixelsFixture(1, 1, 8), idsFixture(1, 6, 23)];
      const dropIns = registry.list().filter((r) => r.capabilities.dropInForPretrained);
      expect(dropIns.map((r) => r.meta.name)).to.include('exact');
      for (const record of dropIns) {
        saved.forEach(({ dir, model }, i) => {
          if (model.kind === 'gpt' && record.capabilities.causal !== 'native') {
            expect(errorOf(() => loadCheckpoint(dir, registry, { attention: { name: record.meta.name } })).kind).to.equal('missing-capability');
            return;
          }
          const swapped = loadCheckpoint(dir, registry, { attention: { name: record.meta.name } });
          const out = swapped.forward(inputs[i]);
          expect(Array.from(out.dataSync()).every(Number.isFinite), record.meta.name).to.equal(true);
          out.dispose();
          swapped.dispose();
        });
      }
      tf.dispose(inputs);
      saved.forEach((s) => s.model.dispose());
    });

    it('should refuse an operator that is not a drop-in replacement unless training', () => {
      const { dir, model } = savedFixture(vitConfigFixture);
      const e = errorOf(() => loadCheckpoint(dir, registryFixture(), { attention: { name: 'gain' } }));
      expect(e.kind).to.equal('missing-capability');
      expect(e.message).to.include('drop-in use with pretrained softmax weights').and.include('training: true');
      model.dispose();
    });

    it('should seed a q-only layer from the query third of GPT-2 c_attn', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      const { model: swapped, report } = loadCheckpointWithReport(dir, registryFixture(), { attention: { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'query-only' }] }, training: true });
      expect(report.derived.map((d) => d.parameter)).to.deep.equal(['transformer.h.0.attn.q_attn.weight', 'transformer.h.0.attn.q_attn.bias']);
      const full = model.parameters().find((p) => p.name === 'transformer.h.0.attn.c_attn.weight')!.variable;
      const q = swapped.parameters().find((p) => p.name === 'transformer.h.0.attn.q_attn.weight')!.variable;
      expectTensorsClose(q, tf.slice(full, [0, 0], [16, 16]), { atol: 0 });
      model.dispose();
      swapped.dispose();
    });
  });

  describe('having a checkpoint that does not match', () => {
    it('should list unexpected and missing keys in one error', () => {
      const { dir, model } = savedFixture(vitConfigFixture);
      editWeights(dir, (t) => {
        t.set('vit.encoder.layer.9.extra', { shape: [1], data: new Float32Array(1) });
        t.delete('classifier.bias');
      });
      const e = errorOf(() => loadCheckpoint(dir, registryFixture()));
      expect(e.kind).to.equal('invalid-checkpoint');
      expect(e.message).to.include('missing keys (1): classifier.bias').and.include('unexpected keys (1): vit.encoder.layer.9.extra');
      model.dispose();
    });

    it('should refuse a shape mismatch naming the key and both shapes', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      editWeights(dir, (t) => t.set('transformer.wpe.weight', { shape: [8, 16], data: new Float32Array(128) }));
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('shape mismatch for "transformer.wpe.weight": checkpoint [8, 16], model expects [16, 16]');
      model.dispose();
    });

    it('should read GPT-2 projections stored as nn.Linear [out, in] instead of Conv1D [in, out]', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      editWeights(dir, (t) => {
        for (const [name, v] of t) {
          if (!/(c_attn|c_proj|c_fc)\.weight$/.test(name)) continue;
          const [rows, cols] = v.shape;
          const data = new Float32Array(v.data.length);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = v.data[r * cols + c];
          t.set(name, { shape: [cols, rows], data });
        }
      });
      expectReloadMatches(model, dir, idsFixture(1, 4, 23));
    });

    it('should skip a tied lm_head.weight and ignore GPT-2 mask buffers, saying which', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      editWeights(dir, (t) => {
        t.set('lm_head.weight', t.get('transformer.wte.weight')!);
        t.set('transformer.h.0.attn.bias', { shape: [1, 1, 16, 16], data: new Float32Array(256) });
      });
      const { model: reloaded, report } = loadCheckpointWithReport(dir, registryFixture());
      expect(report.ignored).to.deep.equal(['transformer.h.0.attn.bias']);
      expect(report.tied).to.deep.equal([{ key: 'lm_head.weight', to: 'transformer.wte.weight' }]);
      model.dispose();
      reloaded.dispose();
    });

    it('should give a clear error for a truncated weights file, a missing folder and .bin-only folders', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      const file = path.join(dir, 'model.safetensors');
      fs.truncateSync(file, fs.statSync(file).size - 100);
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('truncated');
      fs.rmSync(file);
      fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'x');
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('neither model.safetensors nor model.safetensors.index.json').and.include('.bin weights are not read');
      expect(errorOf(() => loadCheckpoint('/nonexistent/ckpt', registryFixture())).message).to.include('no such file');
      model.dispose();
    });

    it('should refuse on wasm, before allocating, weights larger than the wasm32 heap, naming the backends that can hold them', () => {
      if (tf.getBackend() !== 'wasm') return;
      const { dir, model } = savedFixture(gptConfigFixture);
      // a 4.4 GB tensor in a sparse file: the header is all the check reads
      const header = JSON.stringify({ 'transformer.big': { dtype: 'F32', shape: [1_100_000_000], data_offsets: [0, 4_400_000_000] } });
      const file = path.join(dir, 'model.safetensors');
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(header.length));
      fs.writeFileSync(file, Buffer.concat([length, Buffer.from(header)]));
      fs.truncateSync(file, 8 + header.length + 4_400_000_000);
      const before = tf.memory().numTensors;
      const error = errorOf(() => loadCheckpoint(dir, registryFixture()));
      expect(error.message).to.include('1100 M parameters take 4.10 GiB as float32').and.include("backend 'cpu'").and.include('webgpu');
      expect(tf.memory().numTensors).to.equal(before);
      fs.rmSync(file);
      model.dispose();
    });

    it('should refuse an unsupported architecture naming the supported ones', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'falcon', architectures: ['FalconForCausalLM'] }));
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('model_type "falcon" (architecture "FalconForCausalLM") is not supported').and.include('GPT2LMHeadModel').and.include('LlamaForCausalLM').and.include('Qwen2ForCausalLM');
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['LlamaForCausalLM'] }));
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('architecture "LlamaForCausalLM" does not match model_type "gpt2"');
      model.dispose();
    });
  });

  describe('having a sharded checkpoint', () => {
    function shard(dir: string): void {
      const st = openSafetensors(path.join(dir, 'model.safetensors'));
      const names = [...st.entries.keys()];
      const parts = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
      const weightMap: Record<string, string> = {};
      parts.forEach((part, i) => {
        const file = `model-0000${i + 1}-of-00002.safetensors`;
        fs.writeFileSync(path.join(dir, file), encodeSafetensors(new Map(part.map((n) => [n, { shape: [...st.entries.get(n)!.shape], data: st.read(n) }]))));
        for (const n of part) weightMap[n] = file;
      });
      fs.rmSync(path.join(dir, 'model.safetensors'));
      fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    }

    it('should load the shards named by model.safetensors.index.json', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      shard(dir);
      expectReloadMatches(model, dir, idsFixture(1, 4, 23));
    });

    it('should refuse shard names that leave the folder', () => {
      const { dir, model } = savedFixture(gptConfigFixture);
      fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'transformer.wte.weight': '../elsewhere.safetensors' } }));
      expect(errorOf(() => loadCheckpoint(dir, registryFixture())).message).to.include('is not a plain .safetensors file name');
      model.dispose();
    });
  });
});
