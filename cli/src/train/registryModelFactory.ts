import type { OperatorRegistry } from '@swapformer/registry';
import { buildModel, type ModelConfigInput, type GptModel, type VitModel, loadCheckpoint, saveCheckpoint } from '@swapformer/models';
import type { ModelFactory } from './ModelFactory';

/**
 * The training loop's models: the registry's ViT/GPT builders and HF checkpoints. `training`
 * is set everywhere, so operators that are not drop-in for softmax weights (TOST) are allowed.
 *
 * @example const factory = createRegistryModelFactory(registry, config.model);
 */
export function createRegistryModelFactory(registry: OperatorRegistry, modelConfig: Readonly<Record<string, unknown>>): ModelFactory {
  return {
    create: (attention, seed) => buildModel({ ...(modelConfig as ModelConfigInput), seed }, attention, registry, { training: true }),
    load: (dir, attention) => loadCheckpoint(dir, registry, { attention, training: true }),
    save: (model, dir) => saveCheckpoint(model as VitModel | GptModel, dir),
  };
}
