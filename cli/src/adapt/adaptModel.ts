/**
 * `swapformer adapt` as a library call: from a trained checkpoint and an attention selection,
 * an adapted checkpoint, in up to two stages run by the training loop (`trainModel`):
 *   1. transfer/   attention transfer to the exact teacher (attentionTransfer.ts);
 *   2. finetune/   the task loss on the whole model or a LoRA on the swapped layers (loraObjective.ts);
 *   final/         the adapted checkpoint (an ordinary one: LoRA is merged).
 * Each stage folder has metrics.jsonl and a resumable last/; `resume` continues where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { ensureGradients, loadCheckpoint, replaceDirectoryAtomic, type SwapformerModel } from '@swapformer/models';
import { createRegistryModelFactory } from '../train/registryModelFactory';
import type { TrainConfig } from '../train/trainConfig';
import { trainModel, type MetricsLine, type TrainResult } from '../train/trainModel';
import { taskObjective, type TrainObjective } from '../train/trainObjective';
import type { TrainTask } from '../train/trainTasks';
import { attentionTransferObjective, createAttentionRecorder } from './attentionTransfer';
import { loraObjective } from './loraObjective';
import { attentionWeights, layerOperators, operatorTrainables, queryKeyParameters, swappedLayerIndices } from './swappedLayers';

export type AdaptStage = 'transfer' | 'finetune';

export interface AdaptOptions {
  readonly registry: OperatorRegistry;
  /** The trained checkpoint (its weights are the teacher's and the student's start). */
  readonly checkpoint: string;
  /** The operators to adapt to (layers left exact are not trained in stage 1). */
  readonly attention: AttentionSpec;
  /** Shared training settings (data, batchSize, seed, optimizer betas, eval batch, logEvery); output, attention, init and steps are set per stage. */
  readonly base: TrainConfig;
  /** The task's data (its totalSteps is replaced per stage). */
  readonly task: TrainTask;
  readonly output: string;
  readonly transfer: { readonly steps: number; readonly learningRate: number; readonly queryKey: boolean };
  /** `loraRank` null: fine-tune every parameter. */
  readonly finetune: { readonly steps: number; readonly learningRate: number; readonly loraRank: number | null };
  readonly resume?: boolean;
  /**
   * Wall-time budget of this call for both stages (minutes). Stage 1 gets its share by steps; a
   * stage cut short keeps its resumable last/ and no final/ is written (continue with `resume`).
   */
  readonly maxMinutes?: number;
  readonly onMetrics?: (stage: AdaptStage, line: MetricsLine, progress: { step: number; totalSteps: number }) => void;
}

export interface AdaptResult {
  /** The adapted checkpoint (`<output>/final`); null when `maxMinutes` paused a stage. */
  readonly checkpoint: string | null;
  /** The stage `maxMinutes` cut short (resume to continue), or null. */
  readonly paused: AdaptStage | null;
  readonly swappedLayers: readonly number[];
  readonly transfer: TrainResult | null;
  readonly finetune: TrainResult | null;
}

function stageConfig(base: TrainConfig, output: string, init: string, attention: AttentionSpec, steps: number, learningRate: number): TrainConfig {
  return {
    ...base,
    output,
    init,
    attention,
    warmStart: undefined,
    optimizer: { ...base.optimizer, learningRate },
    schedule: { ...base.schedule, steps, warmupSteps: Math.min(base.schedule.warmupSteps, Math.floor(steps / 10)) },
    eval: { ...base.eval, every: steps, patience: 0 }, // one evaluation, at the end of the stage
    checkpointEvery: Math.min(base.checkpointEvery, steps),
    logEvery: Math.min(base.logEvery, steps),
  } as TrainConfig;
}

/**
 * Refuses, before any step (and before any data is loaded), what cannot be adapted: a selection
 * the checkpoint cannot run (built once, so the registry names the layer and the capability),
 * exact attention only, or a stage 1 with nothing to train. Returns the swapped layers.
 *
 * @example const layers = checkAdaptable({ registry, checkpoint, attention, transfer, finetune });
 */
export function checkAdaptable(options: Pick<AdaptOptions, 'registry' | 'checkpoint' | 'attention' | 'transfer' | 'finetune'>): number[] {
  if (!fs.existsSync(path.join(options.checkpoint, 'config.json')))
    throw new SwapformerError('io', `no checkpoint to adapt at "${options.checkpoint}": its config.json is missing.`, { path: options.checkpoint });
  const student = loadCheckpoint(options.checkpoint, options.registry, { attention: options.attention, training: true });
  try {
    const layers = swappedLayerIndices(student);
    if (layers.length === 0) {
      throw new SwapformerError(
        'invalid-config',
        'nothing to adapt: the selection runs only exact attention, which is the teacher itself. Choose an approximate operator, e.g. --attention \'{"name": "performer", "options": {"featureMap": "learned"}}\'.',
      );
    }
    if (options.transfer.steps === 0 && options.finetune.steps === 0) throw new SwapformerError('invalid-config', 'nothing to run: both --transfer-steps and --finetune-steps are 0.');
    if (options.transfer.steps > 0 && operatorTrainables(student).length === 0 && !options.transfer.queryKey) {
      const names = [
        ...new Set(
          layerOperators(student)
            .filter((l) => layers.includes(l.layerIndex))
            .map((l) => l.resolved.name),
        ),
      ].join(', ');
      throw new SwapformerError(
        'invalid-config',
        `attention transfer has nothing to train: operator(s) ${names} own no trainable parameters. Add --transfer-qk to train the swapped layers' q/k projections, use an operator with its own parameters (performer with featureMap "learned"), or skip stage 1 with --transfer-steps 0.`,
      );
    }
    return layers;
  } finally {
    student.dispose();
  }
}

/**
 * @example const result = await adaptModel({ registry, checkpoint: 'examples/checkpoints/gpt-sotu-exact', attention: { name: 'performer', options: { featureMap: 'learned' } }, base, task, output: 'runs/adapt', transfer: { steps: 200, learningRate: 1e-2, queryKey: false }, finetune: { steps: 200, learningRate: 1e-3, loraRank: 8 } });
 */
export async function adaptModel(options: AdaptOptions): Promise<AdaptResult> {
  const { registry, base, task } = options;
  await ensureGradients();
  const layers = checkAdaptable(options);
  const factory = createRegistryModelFactory(registry, {});
  const stageTask = (steps: number): TrainTask => ({ ...task, totalSteps: steps });
  const report = (stage: AdaptStage) => (line: MetricsLine, progress: { step: number; totalSteps: number }) => options.onMetrics?.(stage, line, progress);
  const deadline = options.maxMinutes === undefined ? undefined : Date.now() + options.maxMinutes * 60_000;
  // minutes left for a stage: its share of the remaining budget by steps (the last stage gets all of it)
  const minutesFor = (steps: number, laterSteps: number) => (deadline === undefined ? undefined : (Math.max(0, deadline - Date.now()) / 60_000) * (steps / (steps + laterSteps)));
  let current = options.checkpoint;
  let transfer: TrainResult | null = null;
  let finetune: TrainResult | null = null;

  if (options.transfer.steps > 0) {
    const teacher = loadCheckpoint(options.checkpoint, registry, { attention: { name: 'exact' } });
    const recorder = createAttentionRecorder(registry.hooks, layers);
    const trainable = (model: SwapformerModel) => [...operatorTrainables(model), ...(options.transfer.queryKey ? queryKeyParameters(model, layers) : [])];
    const config = stageConfig(base, path.join(options.output, 'transfer'), current, options.attention, options.transfer.steps, options.transfer.learningRate);
    try {
      transfer = await trainModel({
        config,
        task: stageTask(options.transfer.steps),
        factory,
        objective: attentionTransferObjective({ teacher, recorder, layers, trainable }),
        resume: options.resume,
        maxMinutes: minutesFor(options.transfer.steps, options.finetune.steps),
        onMetrics: report('transfer'),
      });
    } finally {
      recorder.stop();
      teacher.dispose();
    }
    current = path.join(config.output, 'final');
    if (transfer.paused) return { checkpoint: null, paused: 'transfer', swappedLayers: layers, transfer, finetune };
  }

  if (options.finetune.steps > 0) {
    const config = stageConfig(base, path.join(options.output, 'finetune'), current, options.attention, options.finetune.steps, options.finetune.learningRate);
    const rank = options.finetune.loraRank;
    const objective: TrainObjective = rank === null ? taskObjective(task) : loraObjective(task, (model) => attentionWeights(model, layers), { rank, seed: base.seed });
    try {
      finetune = await trainModel({ config, task: stageTask(options.finetune.steps), factory, objective, resume: options.resume, maxMinutes: minutesFor(options.finetune.steps, 0), onMetrics: report('finetune') });
    } finally {
      objective.dispose?.();
    }
    current = path.join(config.output, 'final');
    if (finetune.paused) return { checkpoint: null, paused: 'finetune', swappedLayers: layers, transfer, finetune };
  }

  const final = path.join(options.output, 'final');
  replaceDirectoryAtomic(final, (tmp) => fs.cpSync(current, tmp, { recursive: true }));
  return { checkpoint: final, paused: null, swappedLayers: layers, transfer, finetune };
}
