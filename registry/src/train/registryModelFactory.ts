import type { OperatorRegistry } from '../registry/OperatorRegistry';
import { buildModel } from '../models/buildModel';
import type { ModelConfigInput } from '../models/modelConfig';
import type { GptModel } from '../models/buildGpt';
import type { VitModel } from '../models/buildVit';
import { loadCheckpoint } from '../hf/loadCheckpoint';
import { saveCheckpoint } from '../hf/saveCheckpoint';
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
