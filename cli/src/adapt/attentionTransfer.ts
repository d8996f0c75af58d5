/**
 * Stage 1 of adaptation (LoLCATs' attention transfer): the exact model is the teacher; each
 * swapped layer's operator output is pulled towards the teacher's attention output on the same
 * batch by MSE, summed over the swapped layers (joint transfer: every layer sees the student's
 * own inputs, as at inference).
 *
 * Outputs are captured by an `afterAttention` tap, the layer call site's own hook, so the model
 * graphs carry no extra state. The tap is inert outside a capture, like core's profiler.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { SwapformerHooks } from '@swapformer/core';
import type { NamedVariable, SwapformerModel } from '@swapformer/models';
import type { TrainObjective } from '../train/trainObjective';

/** Records the attention outputs of chosen layers while `capture` runs. */
export interface AttentionRecorder {
  /** Runs `forward` and returns the kept outputs of the watched layers (the caller disposes them). */
  capture(forward: () => Tensor): Map<number, Tensor4D>;
  stop(): void;
}

/**
 * @example const recorder = createAttentionRecorder(registry.hooks, [1, 2]);
 */
export function createAttentionRecorder(hooks: SwapformerHooks, layers: readonly number[]): AttentionRecorder {
  const watched = new Set(layers);
  let sink: Map<number, Tensor4D> | null = null;
  let stopped = false;
  // Last stage: record what the layer really uses after any other tap changed it.
  hooks.afterAttention.tap({ name: 'swapformer-adapt-recorder', stage: 1e9 }, (output, info) => {
    if (sink && !stopped && info.layerIndex !== undefined && watched.has(info.layerIndex)) sink.set(info.layerIndex, tf.keep(output));
    return output;
  });
  return {
    capture(forward) {
      const recorded = new Map<number, Tensor4D>();
      sink = recorded;
      try {
        forward().dispose(); // only the attention outputs matter here
      } finally {
        sink = null;
      }
      return recorded;
    },
    stop: () => {
      stopped = true;
    },
  };
}

export interface TransferSettings {
  readonly teacher: SwapformerModel;
  readonly recorder: AttentionRecorder;
  readonly layers: readonly number[];
  /** What the optimizer trains on the student (operator-owned, plus q/k when asked). */
  readonly trainable: (model: SwapformerModel) => NamedVariable[];
}

/**
 * @example trainModel({ config, task, factory, objective: attentionTransferObjective({ teacher, recorder, layers, trainable }) });
 */
export function attentionTransferObjective(settings: TransferSettings): TrainObjective {
  return {
    trainable: settings.trainable,
    lossAndGrads(model, params, batch, seed) {
      // The teacher runs outside the gradient tape: its activations are constants here.
      const targets = settings.recorder.capture(() => settings.teacher.forward(batch.input, { seed }));
      let outputs = new Map<number, Tensor4D>();
      try {
        return tf.variableGrads(
          () => {
            outputs = settings.recorder.capture(() => model.forward(batch.input, { training: true, seed }));
            const terms = settings.layers.map((i) => {
              const student = outputs.get(i);
              const teacher = targets.get(i);
              if (!student || !teacher) throw new Error(`attention transfer: layer ${i} produced no attention output to compare (is it an attention layer of this model?).`);
              return tf.mean(tf.squaredDifference(student, teacher));
            });
            return tf.addN(terms) as Scalar;
          },
          params.map((p) => p.variable),
        );
      } finally {
        // after the backward pass, which reads the kept outputs
        tf.dispose([...targets.values(), ...outputs.values()]);
      }
    },
  };
}
