/**
 * Parity with Hugging Face transformers on the checkpoints written by
 * models/test/fixtures/hf/generate_hf_fixtures.py (run it with torch + transformers to
 * create them; until then these tests are skipped).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff } from '@swapformer/core/conformance';
import { exactPlugin } from '@swapformer/plugin-exact';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { loadCheckpoint, loadCheckpointWithReport, tensorFromJson, type TensorJson } from '@swapformer/models';

const FIXTURES = path.resolve(__dirname, '../fixtures/hf');
const REPO = path.resolve(__dirname, '../../..');
const CLI = path.resolve(__dirname, '../../../cli/bin/swapformer.js');

interface FixtureMeta {
  readonly name: string;
  readonly architecture: string;
  readonly input: 'pixel_values' | 'input_ids';
  readonly outputs: string[];
  readonly tolerance: number;
}

const fixtureDirs = fs.existsSync(FIXTURES) ? fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'fixture.json'))).sort() : [];
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

function exactRegistry() {
  const registry = createOperatorRegistry();
  registry.register(exactPlugin);
  return registry;
}

describe('Hugging Face checkpoint parity', function () {
  if (fixtureDirs.length === 0) {
    it('should match transformers to 1e-4 (skipped: no fixtures yet; run models/test/fixtures/hf/generate_hf_fixtures.py)', function () {
      this.skip();
    });
    return;
  }

  for (const name of fixtureDirs) {
    const dir = path.join(FIXTURES, name);
    const meta = readJson(path.join(dir, 'fixture.json')) as FixtureMeta;
    const inputs = readJson(path.join(dir, 'inputs.json')) as Record<string, TensorJson>;
    const expected = readJson(path.join(dir, 'expected.json')) as Record<string, TensorJson>;

    describe(`having ${name} (${meta.architecture})`, () => {
      it(`should match transformers' ${meta.outputs.join(' and ')} to ${meta.tolerance} through the API`, () => {
        const { model, report } = loadCheckpointWithReport(dir, exactRegistry());
        expect(report.operatorInitialised).to.deep.equal([]);
        const x = tensorFromJson(inputs[meta.input], meta.input === 'input_ids' ? 'int32' : 'float32', meta.input);
        const outputs: Record<string, tf.Tensor> = {};
        if (model.kind === 'vit' && meta.outputs.includes('pooler_output')) {
          const f = model.features(x);
          outputs.last_hidden_state = f.lastHiddenState;
          outputs.pooler_output = f.pooled!;
        } else {
          outputs[meta.outputs[0]] = model.forward(x);
        }
        for (const key of meta.outputs) {
          expect(outputs[key].shape, key).to.deep.equal(expected[key].shape);
          expect(maxAbsDiff(outputs[key], expected[key].data), key).to.be.at.most(meta.tolerance);
        }
        tf.dispose([x, ...Object.values(outputs)]);
        model.dispose();
      });

      it(`should match transformers to ${meta.tolerance} through swapformer infer`, function () {
        this.timeout(120000);
        const output = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-infer-')), 'out.json');
        const r = spawnSync(process.execPath, [CLI, 'infer', '--checkpoint', dir, '--input', path.join(dir, 'inputs.json'), '--output', output], { encoding: 'utf8', cwd: REPO });
        expect(r.status, r.stderr).to.equal(0);
        const written = readJson(output) as Record<string, TensorJson>;
        for (const key of meta.outputs) expect(maxAbsDiff(written[key].data, expected[key].data), key).to.be.at.most(meta.tolerance);
      });

      it('should run every installed drop-in operator swapped into it', () => {
        const registry = createOperatorRegistry();
        registerInstalledPlugins(registry, REPO);
        const x = tensorFromJson(inputs[meta.input], meta.input === 'input_ids' ? 'int32' : 'float32', meta.input);
        for (const record of registry.list().filter((r) => r.capabilities.dropInForPretrained)) {
          const causalMissing = meta.input === 'input_ids' && record.capabilities.causal !== 'native';
          let model;
          try {
            model = loadCheckpoint(dir, registry, { attention: { name: record.meta.name } });
          } catch (error) {
            expect(causalMissing, `${record.meta.name}: ${(error as Error).message}`).to.equal(true);
            expect((error as { kind?: string }).kind).to.equal('missing-capability');
            continue;
          }
          const out = model.forward(x);
          expect(out.shape, record.meta.name).to.deep.equal(expected[meta.outputs[0]].shape);
          expect(Array.from(out.dataSync()).every(Number.isFinite), record.meta.name).to.equal(true);
          out.dispose();
          model.dispose();
        }
        x.dispose();
      });
    });
  }
});
