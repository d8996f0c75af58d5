import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { NamedVariable, SwapformerModel } from '@swapformer/models';
import type { TrainTask } from './trainTasks';

/**
 * What one run of the training loop optimises: which parameters and with which gradients.
 * `trainModel` defaults to the task loss on every trainable parameter; `swapformer adapt`
 * passes attention transfer (MSE to a teacher) and LoRA objectives through the same loop, so
 * schedule, checkpoints, metrics and resume are shared, not copied.
 */
export interface TrainObjective {
  /** The parameters the optimizer updates (their moments are checkpointed by name). */
  trainable(model: SwapformerModel): NamedVariable[];
  /** Loss and gradients keyed by the tfjs variable names of `params` (the caller disposes both). */
  lossAndGrads(model: SwapformerModel, params: readonly NamedVariable[], batch: { input: Tensor; target: Tensor }, seed: number): { value: Scalar; grads: NamedTensorMap };
  /** After each optimizer update (LoRA writes W₀ + A·B into the model's weights). */
  afterUpdate?(model: SwapformerModel): void;
  /** State beside the model that a resumable checkpoint must hold (LoRA factors). */
  saveState?(dir: string): void;
  /** The tensors `saveState` reads, downloaded first on backends without synchronous reads (webgpu in Node). */
  stateTensors?(): Tensor[];
  /** Restores what `saveState` wrote, onto the model loaded from the same checkpoint. */
  restoreState?(dir: string, model: SwapformerModel): void;
  /** Releases tensors the objective owns. */
  dispose?(): void;
}

/**
 * The plain objective: the task loss (cross-entropy) on every trainable parameter.
 *
 * @example trainModel({ config, task, factory, objective: taskObjective(task) });
 */
export function taskObjective(task: TrainTask): TrainObjective {
  return {
    trainable: (model) => model.parameters().filter((p) => p.trainable),
    lossAndGrads: (model, params, batch, seed) =>
      tf.variableGrads(
        () => task.loss(model, batch.input, batch.target, seed),
        params.map((p) => p.variable),
      ),
  };
}
