import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose } from '@swapformer/core/conformance';
import { buildModel, ensureGradients, type BuiltInModel, type GptModel, type VitModel } from '@swapformer/models';
import { errorOf, gptConfigFixture, idsFixture, pixelsFixture, pixelVitConfigFixture, registryFixture, vitConfigFixture } from './modelFixtures';

function lossStep(model: BuiltInModel, input: tf.Tensor, target: tf.Tensor): { before: number; after: number; grads: Record<string, tf.Tensor> } {
  const vars = model.parameters().filter((p) => p.trainable).map((p) => p.variable);
  const loss = () =>
    tf.tidy(() => {
      const logits = model.forward(input, { training: true });
      const flat = tf.reshape(logits, [-1, logits.shape[logits.rank - 1]!]);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(target, [-1]) as tf.Tensor1D, flat.shape[1]!), flat) as tf.Scalar;
    });
  const { value, grads } = tf.variableGrads(loss, vars);
  const before = value.dataSync()[0];
  value.dispose();
  tf.train.sgd(0.05).applyGradients(grads);
  const after = tf.tidy(() => loss().dataSync()[0]);
  return { before, after, grads };
}

describe('buildModel', () => {
  before(() => ensureGradients()); // lossStep takes gradients; importing models registers none

  describe('having a ViT config', () => {
    it('should map pixels [b, c, h, w] to logits [b, labels] with HF parameter names', () => {
      const registry = registryFixture();
      const model = buildModel(vitConfigFixture, undefined, registry) as VitModel;
      const x = pixelsFixture(2, 3, 8);
      const logits = model.forward(x);
      expect(logits.shape).to.deep.equal([2, 5]);
      const names = model.parameters().map((p) => p.name);
      expect(names).to.include.members(['vit.embeddings.cls_token', 'vit.embeddings.patch_embeddings.projection.weight', 'vit.encoder.layer.1.attention.attention.value.bias', 'vit.encoder.layer.0.intermediate.dense.weight', 'vit.layernorm.weight', 'classifier.weight']);
      expect(model.parameters().find((p) => p.name === 'vit.embeddings.patch_embeddings.projection.weight')!.hfShape).to.deep.equal([16, 3, 4, 4]);
      expect(model.config).to.include({ model_type: 'vit', hidden_size: 16, qkv_bias: true });
      tf.dispose([x, logits]);
      model.dispose();
    });

    it('should run a pixel stage on one token per pixel, then merge squares into patches', () => {
      const registry = registryFixture();
      const seen: Array<{ layer?: number; n: number; d: number }> = [];
      registry.hooks.beforeAttention.tap('shapes', (inputs, info) => {
        seen.push({ layer: info.layerIndex, n: inputs.q.shape[2], d: inputs.q.shape[3] });
        return inputs;
      });
      const model = buildModel(pixelVitConfigFixture, undefined, registry) as VitModel;
      const x = pixelsFixture(2, 1, 8);
      const logits = model.forward(x);
      expect(logits.shape).to.deep.equal([2, 4]);
      expect(seen).to.deep.equal([
        { layer: 0, n: 65, d: 8 },
        { layer: 1, n: 5, d: 8 },
      ]);
      expect(model.parameters().map((p) => p.name)).to.include.members(['vit.pixel_stage.layer.0.attention.attention.query.weight', 'vit.pixel_stage.merge.patch.weight', 'vit.pixel_stage.merge.cls.weight', 'vit.embeddings.position_embeddings']);
      expect(model.config).to.include({ model_type: 'swapformer_vit' });
      tf.dispose([x, logits]);
      model.dispose();
    });

    it('should pick operators per layer: default, {first: N}, ranges and indices, last override winning', () => {
      const registry = registryFixture();
      const model = buildModel({ ...pixelVitConfigFixture, numLayers: 3 }, { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'bidirectional' }, { layers: { from: 2, to: 3 }, name: 'gain' }, { layers: 3, name: 'exact' }] }, registry) as VitModel;
      expect(model.layers.map((l) => l.resolved.name)).to.deep.equal(['bidirectional', 'exact', 'gain', 'exact']);
      expect(model.layers.map((l) => l.path)).to.deep.equal(['/attention/overrides/0', '/attention/default', '/attention/overrides/1', '/attention/overrides/2']);
      model.dispose();
    });

    it('should give a bare encoder (numLabels 0) the last hidden state and a pooler', () => {
      const registry = registryFixture();
      const model = buildModel({ ...vitConfigFixture, numLabels: 0, pooler: true }, undefined, registry) as VitModel;
      const x = pixelsFixture(1, 3, 8);
      const { lastHiddenState, pooled } = model.features(x);
      expect(lastHiddenState.shape).to.deep.equal([1, 5, 16]);
      expect(pooled!.shape).to.deep.equal([1, 16]);
      const out = model.forward(x);
      expectTensorsClose(out, lastHiddenState, { atol: 0 });
      expect(model.parameters().map((p) => p.name)).to.include.members(['embeddings.cls_token', 'encoder.layer.0.layernorm_before.weight', 'pooler.dense.weight']);
      tf.dispose([x, lastHiddenState, pooled!, out]);
      model.dispose();
    });

    it('should refuse pixels of the wrong shape naming the expected one', () => {
      const model = buildModel(vitConfigFixture, undefined, registryFixture()) as VitModel;
      const x = pixelsFixture(1, 1, 8);
      expect(errorOf(() => model.forward(x)).message).to.include('pixel_values must be [batch, 3, 8, 8]');
      x.dispose();
      model.dispose();
    });
  });

  describe('having a GPT config', () => {
    it('should map ids [b, t] to logits [b, t, vocab] with a tied head and GPT-2 names', () => {
      const model = buildModel(gptConfigFixture, undefined, registryFixture()) as GptModel;
      const ids = idsFixture(2, 5, 23);
      const logits = model.forward(ids);
      expect(logits.shape).to.deep.equal([2, 5, 23]);
      const names = model.parameters().map((p) => p.name);
      expect(names).to.include.members(['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.1.mlp.c_proj.bias', 'transformer.ln_f.weight']);
      expect(names).not.to.include('lm_head.weight');
      expect(model.parameters().find((p) => p.name === 'transformer.h.0.attn.c_attn.weight')!.hfShape).to.deep.equal([16, 48]);
      tf.dispose([ids, logits]);
      model.dispose();
    });

    it('should not let a position see later tokens', () => {
      const model = buildModel(gptConfigFixture, undefined, registryFixture()) as GptModel;
      const a = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, 'int32');
      const b = tf.tensor2d([[1, 2, 3, 9, 11]], undefined, 'int32');
      const [la, lb] = [model.forward(a), model.forward(b)];
      expectTensorsClose(tf.slice(la, [0, 0, 0], [1, 3, 23]), tf.slice(lb, [0, 0, 0], [1, 3, 23]), { atol: 1e-6 });
      tf.dispose([a, b, la, lb]);
      model.dispose();
    });

    it('should refuse at build time an operator without causal support, naming the layer, operator and capability', () => {
      const registry = registryFixture();
      const e = errorOf(() => buildModel(gptConfigFixture, { default: { name: 'exact' }, overrides: [{ layers: 1, name: 'bidirectional' }] }, registry));
      expect(e.kind).to.equal('missing-capability');
      expect(e.layer).to.equal(1);
      expect(e.message).to.include('operator "bidirectional" cannot be used here (GPT, layer 1, config /attention/overrides/0)').and.include('causal masking').and.include('Operators installed here that fit: exact, gain, query-only');
    });

    it('should untie the head when asked and build a bare GPT2Model without one', () => {
      const registry = registryFixture();
      const untied = buildModel({ ...gptConfigFixture, tieWordEmbeddings: false }, undefined, registry) as GptModel;
      expect(untied.parameters().find((p) => p.name === 'lm_head.weight')!.hfShape).to.deep.equal([23, 16]);
      const bare = buildModel({ ...gptConfigFixture, lmHead: false }, undefined, registry) as GptModel;
      const ids = idsFixture(1, 4, 23);
      const h = bare.forward(ids);
      expect(h.shape).to.deep.equal([1, 4, 16]);
      expect(bare.parameters()[0].name).to.equal('wte.weight');
      tf.dispose([ids, h]);
      untied.dispose();
      bare.dispose();
    });

    it('should refuse ids outside the vocabulary or beyond the context', () => {
      const model = buildModel(gptConfigFixture, undefined, registryFixture()) as GptModel;
      const big = tf.tensor2d([[1, 23]], undefined, 'int32');
      const long = idsFixture(1, 17, 23);
      expect(errorOf(() => model.forward(big)).message).to.include('input_ids must be in [0, 23)');
      expect(errorOf(() => model.forward(long)).message).to.include('exceed the context of 16 positions');
      tf.dispose([big, long]);
      model.dispose();
    });
  });

  describe('having operators that own parameters', () => {
    it('should name operator state <layer>.attention.operator.<name>, marked as owned', () => {
      const registry = registryFixture();
      const vit = buildModel(vitConfigFixture, { name: 'gain' }, registry) as VitModel;
      const owned = vit.parameters().filter((p) => p.ownedBy);
      expect(owned.map((p) => [p.name, p.ownedBy])).to.deep.equal([
        ['vit.encoder.layer.0.attention.operator.gain', 'gain'],
        ['vit.encoder.layer.1.attention.operator.gain', 'gain'],
      ]);
      vit.dispose();
    });

    it('should give a q-only operator only the query and output projections', () => {
      const registry = registryFixture();
      const gpt = buildModel(gptConfigFixture, { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'query-only' }] }, registry) as GptModel;
      const layer0 = gpt.parameters().filter((p) => p.name.startsWith('transformer.h.0.attn.')).map((p) => p.name);
      expect(layer0).to.deep.equal(['transformer.h.0.attn.q_attn.weight', 'transformer.h.0.attn.q_attn.bias', 'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.attn.c_proj.bias', 'transformer.h.0.attn.operator.temp']);
      const vit = buildModel(vitConfigFixture, { name: 'query-only' }, registry) as VitModel;
      expect(vit.parameters().some((p) => p.name.endsWith('attention.attention.key.weight'))).to.equal(false);
      const ids = idsFixture(1, 4, 23);
      const out = gpt.forward(ids);
      expect(out.shape).to.deep.equal([1, 4, 23]);
      tf.dispose([ids, out]);
      gpt.dispose();
      vit.dispose();
    });
  });

  describe('having gradients', () => {
    for (const [label, config, input, target] of [
      ['ViT', vitConfigFixture, () => pixelsFixture(4, 3, 8), () => tf.tensor1d([0, 1, 2, 3], 'int32')],
      ['pixel-stage ViT', pixelVitConfigFixture, () => pixelsFixture(4, 1, 8), () => tf.tensor1d([0, 1, 2, 3], 'int32')],
      ['GPT', gptConfigFixture, () => idsFixture(2, 6, 23), () => idsFixture(2, 6, 23, 5)],
    ] as const) {
      it(`should give finite non-zero grads for every ${label} parameter and lower the loss in one step`, () => {
        const model = buildModel(config, label === 'GPT' ? { name: 'gain' } : undefined, registryFixture());
        const [x, y] = [input(), target()];
        const baseline = tf.memory().numTensors;
        const { before, after, grads } = lossStep(model, x, y);
        for (const p of model.parameters()) {
          const g = grads[p.variable.name];
          expect(g, `no gradient for ${p.name}`).to.not.equal(undefined);
          const values = g.dataSync();
          expect(values.every(Number.isFinite), p.name).to.equal(true);
          expect(values.some((v) => v !== 0), `zero gradient for ${p.name}`).to.equal(true);
        }
        expect(after).to.be.lessThan(before);
        tf.dispose(Object.values(grads));
        expect(tf.memory().numTensors).to.be.at.most(baseline + 2); // sgd's learning-rate scalar and iteration counter
        tf.dispose([x, y]);
        model.dispose();
      });
    }
  });

  it('should release every intermediate of a forward', () => {
    const model = buildModel(pixelVitConfigFixture, undefined, registryFixture()) as VitModel;
    const x = pixelsFixture(1, 1, 8);
    model.forward(x).dispose();
    const baseline = tf.memory().numTensors;
    model.forward(x).dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
    x.dispose();
    model.dispose();
  });
});
