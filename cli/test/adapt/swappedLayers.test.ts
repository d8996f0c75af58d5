import * as path from 'node:path';
import { expect } from 'chai';
import { loadCheckpoint } from '@swapformer/models';
import { attentionWeights, queryKeyParameters, swappedLayerIndices } from '../../src/adapt/swappedLayers';
import { adaptRegistryFixture } from './adaptFixtures';

describe('swapped layers of the committed ViT (pixel stage numbered first)', () => {
  it('should map global layer 0 to the pixel stage and layer 1 to encoder layer 0', () => {
    const registry = adaptRegistryFixture();
    const checkpoint = path.resolve(__dirname, '../../../examples/checkpoints/vit-fmnist-exact');
    const model = loadCheckpoint(checkpoint, registry, { attention: { default: { name: 'exact' }, overrides: [{ layers: [0, 1], name: 'levattention', options: { k: 32 } }] }, training: true });
    expect(swappedLayerIndices(model)).to.deep.equal([0, 1]);
    expect(queryKeyParameters(model, [0]).map((p) => p.name)).to.deep.equal([
      'vit.pixel_stage.layer.0.attention.attention.query.weight',
      'vit.pixel_stage.layer.0.attention.attention.query.bias',
      'vit.pixel_stage.layer.0.attention.attention.key.weight',
      'vit.pixel_stage.layer.0.attention.attention.key.bias',
    ]);
    expect(
      attentionWeights(model, [1])
        .map((p) => p.name)
        .sort(),
    ).to.deep.equal([
      'vit.encoder.layer.0.attention.attention.key.weight',
      'vit.encoder.layer.0.attention.attention.query.weight',
      'vit.encoder.layer.0.attention.attention.value.weight',
      'vit.encoder.layer.0.attention.output.dense.weight',
    ]);
    model.dispose();
  });
});
