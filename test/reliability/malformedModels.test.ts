/**
 * Malformed model configs (through validateConfig, before anything is built) and malformed model
 * inputs (through a built ViT/GPT). Pending until the model builders are on the branch.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { MODEL_INPUT_CASES, modelConfigCorpus } from './corpus/modelCorpus';
import { checkApiOutcome, runCaseApi } from './corpus/runConfigCase';
import { MODELS_PENDING, modelsApi, TINY_GPT, TINY_VIT, type BuiltModel } from './support/models';
import { installedRegistry } from './support/registries';

const registryFixture = installedRegistry();

describe('malformed models', () => {
  const api = modelsApi();

  it('should refuse every malformed model config in validateConfig, before building', function () {
    if (!api) {
      process.stderr.write(`    (pending: ${MODELS_PENDING})\n`);
      return this.skip();
    }
    const nonCausal = registryFixture.list().filter((r) => r.capabilities.causal === 'none').map((r) => r.meta.name);
    const cases = [
      ...modelConfigCorpus(),
      ...nonCausal.map((name, i) => ({ id: `model-semantics/causal-${i}`, category: 'model-semantics', title: `GPT with non-causal ${name}`, input: { form: 'json' as const, value: { ...TINY_GPT, attention: { name } } }, expect: { kind: 'invalid-config' as const, includes: [`operator "${name}" cannot be used here`] } })),
    ];
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-models-'));
    try {
      const failures = cases.flatMap((c, i) => {
        const problems = checkApiOutcome(c.expect, runCaseApi(c, registryFixture, scratch, i), tf.memory().numTensors);
        return problems.length ? [`${c.id}: ${problems.join('; ')}`] : [];
      });
      expect(failures, failures.join('\n')).to.deep.equal([]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });

  it(`should refuse all ${MODEL_INPUT_CASES.length} malformed model inputs with one clear error, leaking nothing`, function () {
    this.timeout(120000);
    if (!api) {
      process.stderr.write(`    (pending: ${MODELS_PENDING})\n`);
      return this.skip();
    }
    const models: Record<'vit' | 'gpt', BuiltModel> = { vit: api.buildModel({ ...TINY_VIT }, undefined, registryFixture), gpt: api.buildModel({ ...TINY_GPT }, undefined, registryFixture) };
    const failures: string[] = [];
    for (const c of MODEL_INPUT_CASES) {
      const input = c.make();
      const before = tf.memory().numTensors;
      let caught: unknown;
      try {
        models[c.model].forward(input).dispose();
      } catch (error) {
        caught = error;
      }
      const problems: string[] = [];
      if (caught === undefined) problems.push('was accepted');
      else if (!SwapformerError.is(caught)) problems.push(`threw ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
      else {
        if (caught.kind !== c.kind) problems.push(`kind ${caught.kind}, expected ${c.kind}: ${caught.message}`);
        if (!caught.message.includes(c.includes)) problems.push(`message lacks ${JSON.stringify(c.includes)}: ${caught.message}`);
      }
      if (tf.memory().numTensors !== before) problems.push(`leaked ${tf.memory().numTensors - before} tensors`);
      input.dispose();
      if (problems.length) failures.push(`${c.model} / ${c.title}: ${problems.join('; ')}`);
    }
    models.vit.dispose();
    models.gpt.dispose();
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });
});
