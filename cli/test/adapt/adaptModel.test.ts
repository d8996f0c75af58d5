import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@swapformer/core';
import { loadCheckpoint, openSafetensors } from '@swapformer/models';
import type { OperatorRegistry } from '@swapformer/registry';
import { adaptModel, type AdaptOptions } from '../../src/adapt/adaptModel';
import { LORA_STATE_FILE } from '../../src/adapt/loraObjective';
import { adaptRegistryFixture, readMetrics, tinyGptFixture } from './adaptFixtures';
import { webGpuSuiteCheck } from '@swapformer/core/conformance';

const LEARNED = { name: 'performer', options: { featureMap: 'learned' } };

describe('adaptModel on a tiny char-GPT', () => {
  let root: string;
  let registry: OperatorRegistry;
  let fixture: ReturnType<typeof tinyGptFixture>;
  const options = (output: string, overrides: Partial<AdaptOptions> = {}): AdaptOptions => ({
    registry,
    checkpoint: fixture.checkpoint,
    attention: { default: { name: 'exact' }, overrides: [{ layers: 1, ...LEARNED }] },
    base: fixture.base,
    task: fixture.task,
    output: path.join(root, output),
    transfer: { steps: 8, learningRate: 0.05, queryKey: false },
    finetune: { steps: 0, learningRate: 1e-3, loraRank: null },
    ...overrides,
  });
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'adapt-'));
    registry = adaptRegistryFixture();
    fixture = tinyGptFixture(registry, root);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('stage 1: the transfer loss falls, only the operator-owned map of the swapped layer changes, and the teacher stays bitwise the same', async () => {
    const teacherBytes = fs.readFileSync(path.join(fixture.checkpoint, 'model.safetensors'));
    const result = await adaptModel(options('transfer-only'));
    expect(result.swappedLayers).to.deep.equal([1]);
    const losses = readMetrics(path.join(root, 'transfer-only', 'transfer', 'metrics.jsonl'))
      .filter((l) => l.type === 'train')
      .map((l) => l.loss as number);
    expect(losses.length).to.equal(8);
    expect(losses[7]).to.be.below(losses[0] * 0.9);
    expect(fs.readFileSync(path.join(fixture.checkpoint, 'model.safetensors')).equals(teacherBytes)).to.equal(true);

    const teacher = loadCheckpoint(fixture.checkpoint, registry, { attention: { name: 'exact' } });
    const adapted = loadCheckpoint(result.checkpoint!, registry, { training: true });
    const teacherParams = new Map(teacher.parameters().map((p) => [p.name, p.variable]));
    const owned = adapted.parameters().filter((p) => p.ownedBy === 'performer');
    expect(owned.map((p) => p.name)).to.deep.equal(['transformer.h.1.attn.operator.feature_map']);
    for (const p of adapted.parameters()) {
      if (p.ownedBy) continue;
      expect(tf.util.arraysEqual(p.variable.dataSync(), teacherParams.get(p.name)!.dataSync()), p.name).to.equal(true);
    }
    // trained away from the identity start
    const start = registry.resolve(LEARNED as never, {}).create({ heads: 2, headDim: 8, layerIndex: 1 } as never);
    expect(tf.util.arraysEqual(owned[0].variable.dataSync(), start.parameters()[0].variable.dataSync())).to.equal(false);
    start.dispose();
    teacher.dispose();
    adapted.dispose();
  });

  it('stage 2 with LoRA: the saved checkpoint holds W₀ + A·B, and x·W equals x·W₀ + (x·A)·B to 1e-5', async () => {
    const result = await adaptModel(options('lora', { transfer: { steps: 2, learningRate: 0.05, queryKey: false }, finetune: { steps: 4, learningRate: 0.01, loraRank: 2 } }));
    const adapted = loadCheckpoint(result.checkpoint!, registry, { training: true });
    const state = openSafetensors(path.join(root, 'lora', 'finetune', 'last', LORA_STATE_FILE));
    const targets = [...state.entries.keys()].filter((k) => k.endsWith('.base')).map((k) => k.slice(0, -'.base'.length));
    expect(targets.sort()).to.deep.equal(['transformer.h.1.attn.c_attn.weight', 'transformer.h.1.attn.c_proj.weight']);
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
    for (const name of targets) {
      const merged = adapted.parameters().find((p) => p.name === name)!.variable as unknown as tf.Tensor2D;
      const read = (suffix: string) => tf.tensor(state.read(`${name}.${suffix}`), [...state.entries.get(`${name}.${suffix}`)!.shape] as [number, number]) as tf.Tensor2D;
      const [base, a, b] = [read('base'), read('lora_A'), read('lora_B')];
      expect(tf.tidy(() => tf.max(tf.abs(b))).dataSync()[0], 'B was trained').to.be.above(0);
      const unmerged = tf.add(tf.matMul(x, base), tf.matMul(tf.matMul(x, a), b));
      const viaMerged = tf.matMul(x, merged);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(unmerged, viaMerged)))).dataSync()[0]).to.be.below(1e-5);
      tf.dispose([base, a, b, unmerged, viaMerged]);
    }
    // layers outside the selection are not adapted by LoRA
    const teacher = loadCheckpoint(fixture.checkpoint, registry, { attention: { name: 'exact' } });
    const layer0 = (m: typeof teacher) =>
      m
        .parameters()
        .find((p) => p.name === 'transformer.h.0.attn.c_attn.weight')!
        .variable.dataSync();
    expect(tf.util.arraysEqual(layer0(adapted), layer0(teacher))).to.equal(true);
    tf.dispose(x);
    teacher.dispose();
    adapted.dispose();
  });

  it('should resume an interrupted run to the same weights as an uninterrupted one, leaving no final/ meanwhile', async () => {
    const straight = await adaptModel(options('straight', { transfer: { steps: 4, learningRate: 0.05, queryKey: false } }));
    let interrupted = false;
    const stop = (_stage: string, line: { type: string; step?: number }) => {
      // thrown from the step-3 metrics line, i.e. after the step-2 checkpoint and before step 3's
      if (line.type === 'train' && line.step === 3) throw new Error('interrupted');
    };
    await adaptModel(options('resumed', { transfer: { steps: 4, learningRate: 0.05, queryKey: false }, onMetrics: stop })).catch((e: Error) => {
      interrupted = e.message === 'interrupted';
    });
    expect(interrupted).to.equal(true);
    expect(fs.existsSync(path.join(root, 'resumed', 'final'))).to.equal(false);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'resumed', 'transfer', 'last', 'trainer_state.json'), 'utf8')).step).to.equal(2);
    const resumed = await adaptModel(options('resumed', { transfer: { steps: 4, learningRate: 0.05, queryKey: false }, resume: true }));
    const a = openSafetensors(path.join(straight.checkpoint!, 'model.safetensors'));
    const b = openSafetensors(path.join(resumed.checkpoint!, 'model.safetensors'));
    for (const key of a.entries.keys()) expect(Buffer.from(b.read(key).buffer).equals(Buffer.from(a.read(key).buffer)), key).to.equal(true);
  });

  it('should pause both stages at --max-minutes with no final/, then --resume to the uninterrupted weights', async () => {
    const stages = { transfer: { steps: 3, learningRate: 0.05, queryKey: false }, finetune: { steps: 2, learningRate: 0.01, loraRank: 2 } };
    const straight = await adaptModel(options('timed-straight', stages));
    // a budget that has run out after the first step: trainModel checks the deadline after each step
    const paused = await adaptModel(options('timed', { ...stages, maxMinutes: 1e-6 }));
    expect(paused.paused).to.equal('transfer');
    expect(paused.checkpoint).to.equal(null);
    expect(paused.transfer!.steps).to.be.below(3);
    expect(fs.existsSync(path.join(root, 'timed', 'final'))).to.equal(false);
    const resumed = await adaptModel(options('timed', { ...stages, resume: true }));
    expect(resumed.paused).to.equal(null);
    const a = openSafetensors(path.join(straight.checkpoint!, 'model.safetensors'));
    const b = openSafetensors(path.join(resumed.checkpoint!, 'model.safetensors'));
    for (const key of a.entries.keys()) expect(Buffer.from(b.read(key).buffer).equals(Buffer.from(a.read(key).buffer)), key).to.equal(true);
  });

  describe('refusing bad input before any step', () => {
    const refuses = async (output: string, overrides: Partial<AdaptOptions>, message: RegExp) => {
      const error = await adaptModel(options(output, overrides)).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).to.match(message);
      expect(fs.existsSync(path.join(root, output))).to.equal(false);
    };
    it('should refuse exact attention (nothing to adapt)', () => refuses('bad-exact', { attention: { name: 'exact' } }, /nothing to adapt.*exact/));
    it('should refuse stage 1 for an operator that owns nothing unless q/k are trained', () =>
      refuses('bad-lev', { attention: { name: 'levattention' } }, /nothing to train: operator\(s\) levattention own no trainable parameters.*--transfer-qk/));
    it('should refuse a non-causal operator in a GPT', () => refuses('bad-causal', { attention: { name: 'bidirectional' } }, /causal/));
    it('should refuse a layer out of range', () => refuses('bad-layer', { attention: { default: { name: 'exact' }, overrides: [{ layers: 5, ...LEARNED }] } }, /layer 5.*2 layers/));
  });

  it('should train q/k with --transfer-qk for an operator that owns nothing (LevAttention)', async () => {
    const result = await adaptModel(options('lev-qk', { attention: { name: 'levattention' }, transfer: { steps: 2, learningRate: 0.01, queryKey: true } }));
    expect(result.swappedLayers).to.deep.equal([0, 1]);
    const teacher = loadCheckpoint(fixture.checkpoint, registry, { attention: { name: 'exact' } });
    const adapted = loadCheckpoint(result.checkpoint!, registry, { training: true });
    const get = (m: typeof teacher, name: string) =>
      m
        .parameters()
        .find((p) => p.name === name)!
        .variable.dataSync();
    expect(tf.util.arraysEqual(get(adapted, 'transformer.h.0.attn.c_attn.weight'), get(teacher, 'transformer.h.0.attn.c_attn.weight'))).to.equal(false);
    expect(tf.util.arraysEqual(get(adapted, 'transformer.h.0.mlp.c_fc.weight'), get(teacher, 'transformer.h.0.mlp.c_fc.weight'))).to.equal(true);
    teacher.dispose();
    adapted.dispose();
  });

  it('should refuse the untrained learned map as a drop-in, quoting swapformer adapt, and load the adapted checkpoint that carries it', async () => {
    const refusal = (() => {
      try {
        loadCheckpoint(fixture.checkpoint, registry, { attention: LEARNED }).dispose();
      } catch (error) {
        return error as Error & { kind?: string };
      }
      return null;
    })();
    expect(refusal?.kind).to.equal('missing-capability');
    expect(refusal?.message).to.include('"performer" with options {"featureMap":"learned"}').and.include('swapformer adapt --checkpoint').and.include('--allow-untrained-operators');
    // FAVOR+ stays a drop-in; the learned map loads for fine-tuning when asked
    loadCheckpoint(fixture.checkpoint, registry, { attention: { name: 'performer' } }).dispose();
    loadCheckpoint(fixture.checkpoint, registry, { attention: LEARNED, training: true }).dispose();
    // the adapted checkpoint records the learned selection and its feature_map: no swap, no refusal
    const result = await adaptModel(options('dropin-check', { transfer: { steps: 1, learningRate: 0.05, queryKey: false } }));
    const adapted = loadCheckpoint(result.checkpoint!, registry);
    const logits = adapted.forward(tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32'));
    expect(logits.shape[0]).to.equal(1);
    tf.dispose(logits);
    adapted.dispose();
  });
});

describe('adaptModel on webgpu (lavapipe in CI)', function () {
  let root: string;
  let registry: OperatorRegistry;
  let fixture: ReturnType<typeof tinyGptFixture>;
  const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  before(async function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'adapt-webgpu-'));
    registry = adaptRegistryFixture();
    fixture = tinyGptFixture(registry, root);
  });
  after(() => root && fs.rmSync(root, { recursive: true, force: true }));

  it('should adapt a causal GPT to LevAttention (q/k transfer, then LoRA, whose state is saved) as on cpu', async () => {
    const run = async (backend: 'cpu' | 'webgpu') => {
      await useBackend(backend);
      try {
        return await adaptModel({
          registry,
          checkpoint: fixture.checkpoint,
          attention: { name: 'levattention', options: { k: 4 } },
          base: fixture.base,
          task: fixture.task,
          output: path.join(root, backend),
          transfer: { steps: 2, learningRate: 0.01, queryKey: true },
          finetune: { steps: 2, learningRate: 1e-3, loraRank: 2 },
        });
      } finally {
        await useBackend(suiteBackend);
      }
    };
    const [cpu, gpu] = [await run('cpu'), await run('webgpu')];
    expect(fs.existsSync(path.join(root, 'webgpu', 'finetune', 'last', LORA_STATE_FILE))).to.equal(true);
    const a = openSafetensors(path.join(cpu.checkpoint!, 'model.safetensors'));
    const b = openSafetensors(path.join(gpu.checkpoint!, 'model.safetensors'));
    let worst = 0;
    for (const key of a.entries.keys()) {
      const [x, y] = [a.read(key), b.read(key)];
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
    // same kept keys on both backends (a flipped key would move the trained weights by ~lr); float32 rounding otherwise
    expect(worst).to.be.below(1e-5);
  });
});
