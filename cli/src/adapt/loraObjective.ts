/**
 * Stage 2 with a low-rank adapter (LoRA, Hu et al. 2021) on the q/k/v/o weights of the swapped
 * layers: W = W₀ + A·B with A `[in, r]` (seeded normal) and B `[r, out]` (zeros, so training
 * starts at the stage-1 model). The model's own weight variables always hold the merged W, so
 * the forward is unchanged and the saved checkpoint is an ordinary one. Gradients reach A and B
 * by the chain rule through W: ∂L/∂A = ∂L/∂W·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂W.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, SwapformerError } from '@swapformer/core';
import { encodeSafetensors, openSafetensors, type NamedVariable, type SwapformerModel, type TensorToWrite } from '@swapformer/models';
import type { TrainObjective } from '../train/trainObjective';
import type { TrainTask } from '../train/trainTasks';

export const LORA_STATE_FILE = 'lora.safetensors';

/** One adapted matrix: the frozen W₀ and the trained factors. */
export interface LoraFactor {
  readonly target: NamedVariable;
  readonly base: Variable;
  readonly a: Variable;
  readonly b: Variable;
}

export interface LoraObjective extends TrainObjective {
  /** The factors (after the first `trainable` / `restoreState` call). */
  factors(): readonly LoraFactor[];
}

// tfjs names the variables itself (unique per engine); checkpoints use the NamedVariable names.
function variable(values: Float32Array | tf.Tensor, shape: number[], trainable: boolean): Variable {
  const initial = values instanceof Float32Array ? tf.tensor(values, shape) : values;
  const v = tf.variable(initial, trainable);
  initial.dispose(); // the variable holds its own copy
  return v;
}

/**
 * @example const objective = loraObjective(task, (model) => attentionWeights(model, [1, 2, 3]), { rank: 8, seed: 0 });
 */
export function loraObjective(task: TrainTask, targets: (model: SwapformerModel) => NamedVariable[], settings: { rank: number; seed: number }): LoraObjective {
  let factors: LoraFactor[] | null = null;
  const ensure = (model: SwapformerModel): LoraFactor[] => {
    if (factors) return factors;
    const chosen = targets(model);
    if (chosen.length === 0) throw new SwapformerError('invalid-config', 'LoRA: the swapped layers have no q/k/v/o weight matrices to adapt.');
    factors = chosen.map((target) => {
      const [rows, cols] = target.variable.shape;
      const aValues = createSeededRandom(deriveSeed(settings.seed, 'lora', target.name)).fillNormal(new Float32Array(rows * settings.rank), 0, 1 / Math.sqrt(rows));
      return {
        target,
        base: variable(target.variable.clone(), [rows, cols], false),
        a: variable(aValues, [rows, settings.rank], true),
        b: variable(new Float32Array(settings.rank * cols), [settings.rank, cols], true),
      };
    });
    return factors;
  };
  const merge = () => {
    for (const f of factors ?? []) tf.tidy(() => f.target.variable.assign(tf.add(f.base, tf.matMul(f.a, f.b))));
  };
  return {
    factors: () => factors ?? [],
    trainable: (model) =>
      ensure(model).flatMap((f) => [
        { name: `${f.target.name}.lora_A`, variable: f.a, trainable: true },
        { name: `${f.target.name}.lora_B`, variable: f.b, trainable: true },
      ]),
    lossAndGrads(model, _params, batch, seed) {
      const chosen = ensure(model);
      const { value, grads } = tf.variableGrads(
        () => task.loss(model, batch.input, batch.target, seed),
        chosen.map((f) => f.target.variable),
      );
      const out: NamedTensorMap = {};
      for (const f of chosen) {
        const dW = grads[f.target.variable.name] as Tensor2D;
        out[f.a.name] = tf.matMul(dW, f.b, false, true);
        out[f.b.name] = tf.matMul(f.a, dW, true, false);
      }
      tf.dispose(Object.values(grads));
      return { value, grads: out };
    },
    afterUpdate: merge,
    stateTensors: () => (factors ?? []).flatMap((f) => [f.base, f.a, f.b]),
    saveState(dir) {
      const tensors = new Map<string, TensorToWrite>();
      for (const f of factors ?? []) {
        for (const [suffix, v] of [
          ['base', f.base],
          ['lora_A', f.a],
          ['lora_B', f.b],
        ] as const)
          tensors.set(`${f.target.name}.${suffix}`, { shape: v.shape, data: v.dataSync() as Float32Array });
      }
      fs.writeFileSync(path.join(dir, LORA_STATE_FILE), encodeSafetensors(tensors, { format: 'lora', rank: String(settings.rank) }));
    },
    restoreState(dir, model) {
      const file = path.join(dir, LORA_STATE_FILE);
      if (!fs.existsSync(file)) throw new SwapformerError('invalid-checkpoint', `cannot resume LoRA fine-tuning from ${dir}: ${LORA_STATE_FILE} is missing.`, { path: file });
      const saved = openSafetensors(file);
      for (const f of ensure(model)) {
        for (const [suffix, v] of [
          ['base', f.base],
          ['lora_A', f.a],
          ['lora_B', f.b],
        ] as const) {
          const key = `${f.target.name}.${suffix}`;
          if (!saved.entries.has(key)) throw new SwapformerError('invalid-checkpoint', `${file}: "${key}" is missing.`, { path: file });
          tf.tidy(() => v.assign(tf.tensor(saved.read(key), v.shape)));
        }
      }
      merge();
    },
    dispose() {
      for (const f of factors ?? []) tf.dispose([f.base, f.a, f.b]);
      factors = null;
    },
  };
}
