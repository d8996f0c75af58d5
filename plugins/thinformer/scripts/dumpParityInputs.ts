/**
 * Writes the inputs of the reference-parity check: for each case, k and v (from
 * randomAttentionInputs) and the exact random draws KH-Compress makes for the seed (the walk's
 * Uniform(−Λ, Λ) variables and one coin per round, in the order thinformerCoreset draws them).
 * scripts/reference_parity.py runs a NumPy transcription of the reference khcompress on them
 * and writes the expected coreset positions to test/fixtures/referenceParity.json.
 *
 *   npx tsx plugins/thinformer/scripts/dumpParityInputs.ts /tmp/thinformer-parity-inputs.json
 *   python3 plugins/thinformer/scripts/reference_parity.py /tmp/thinformer-parity-inputs.json plugins/thinformer/test/fixtures/referenceParity.json
 */
import { writeFileSync } from 'fs';
import { createSeededRandom, deriveSeed, useBackend } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { compressPlan } from '../src/compressPlan';
import { PARITY_CASES } from '../test/fixtures/parityCases';

async function main(): Promise<void> {
  await useBackend('wasm');
  const cases = PARITY_CASES.map((c) => {
    const { k, v } = randomAttentionInputs({ batch: c.batch, heads: c.heads, nq: 1, nk: c.nk, dk: c.d }, c.inputSeed, c.qkScale);
    const plan = compressPlan(c.nk, c.g, 0.5);
    const draws = plan.rounds.map((round, r) => {
      const rng = createSeededRandom(deriveSeed(c.seed, 'halve', r));
      const uniforms = rng.fillUniform(new Float32Array(c.batch * c.heads * round.points / 2), -round.threshold, round.threshold);
      return { uniforms: Array.from(uniforms), coin: rng.uniform() < 0.5 };
    });
    return { ...c, k: Array.from(k.dataSync()), v: Array.from(v.dataSync()), draws };
  });
  writeFileSync(process.argv[2] ?? '/tmp/thinformer-parity-inputs.json', JSON.stringify({ cases }));
}

void main();
