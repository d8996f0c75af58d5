/**
 * The training loop: AdamW with warmup + cosine, global-norm clipping, seeded batches, JSONL
 * metrics, periodic resumable checkpoints and the best validation checkpoint.
 *
 * Run folder layout (`config.output`):
 *   metrics.jsonl   one JSON object per log step / evaluation
 *   last/           resumable: model + optimizer.safetensors + trainer_state.json
 *   best/           the weights with the best validation metric so far
 *   final/          the weights at the end of the run
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed, prefetchValues, SwapformerError, throwIfWebGpuFailed } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import { type SwapformerModel, ensureGradients, replaceDirectoryAtomic } from '@swapformer/models';
import { createAdamW } from './adamW';
import { learningRateAt } from './learningRate';
import type { ModelFactory } from './ModelFactory';
import type { TrainConfig } from './trainConfig';
import { readTrainerState, restoreOptimizer, saveTrainerCheckpoint, type TrainerState } from './trainerCheckpoint';
import type { TrainTask } from './trainTasks';
import { taskObjective, type TrainObjective } from './trainObjective';

/** One line of metrics.jsonl. */
export type MetricsLine =
  | { readonly type: 'train'; readonly step: number; readonly loss: number; readonly lr: number; readonly grad_norm: number; readonly throughput: number; readonly unit: string; readonly phase: string; readonly elapsed_s: number }
  | { readonly type: 'eval'; readonly step: number; readonly metric: string; readonly value: number; readonly best: number | null; readonly phase: string; readonly elapsed_s: number }
  | { readonly type: 'phase'; readonly step: number; readonly phase: string; readonly attention: AttentionSpec | null };

export interface TrainOptions {
  readonly config: TrainConfig;
  readonly task: TrainTask;
  readonly factory: ModelFactory;
  /** What is optimised (default: the task loss on every trainable parameter). */
  readonly objective?: TrainObjective;
  /** Continue from `output/last` if it exists. */
  readonly resume?: boolean;
  /** Stop (with a resumable checkpoint) once this much wall time has passed in this call. */
  readonly maxMinutes?: number;
  /** Called every `logEvery` steps and after each evaluation (progress bar). */
  readonly onMetrics?: (line: MetricsLine, progress: { step: number; totalSteps: number }) => void;
}

export interface TrainResult {
  readonly steps: number;
  readonly totalSteps: number;
  readonly stoppedEarly: boolean;
  /** Stopped by `maxMinutes` before the end; resume to continue. */
  readonly paused: boolean;
  readonly bestMetric: number | null;
  readonly bestStep: number | null;
  readonly output: string;
  readonly elapsedMs: number;
}

/** Where the warm start ends (0 when there is none). */
export function warmStartSteps(config: TrainConfig, totalSteps: number): number {
  return config.warmStart ? Math.round(config.warmStart.fraction * totalSteps) : 0;
}

function phaseAt(config: TrainConfig, step: number, totalSteps: number): { phase: 'warm-start' | 'main'; attention: AttentionSpec | undefined } {
  return step < warmStartSteps(config, totalSteps) ? { phase: 'warm-start', attention: config.warmStart!.attention } : { phase: 'main', attention: config.attention };
}

/** Copies every parameter `to` shares with `from` by name and shape (operator-owned state stays `to`'s own). */
export function copyParameters(from: SwapformerModel, to: SwapformerModel): number {
  const source = new Map(from.parameters().map((p) => [p.name, p.variable]));
  let copied = 0;
  for (const p of to.parameters()) {
    const v = source.get(p.name);
    if (v && tf.util.arraysEqual(v.shape, p.variable.shape)) {
      p.variable.assign(v);
      copied += 1;
    } else if (!p.ownedBy) {
      throw new SwapformerError('invalid-checkpoint', `switching operators: parameter "${p.name}" of the new model has no counterpart of shape [${p.variable.shape.join(', ')}] in the old one.`);
    }
  }
  return copied;
}

/**
 * Trains a model as `config` says.
 *
 * @example const result = await trainModel({ config, task: loadTrainTask(config), factory });
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { config, task, factory } = options;
  const objective = options.objective ?? taskObjective(task);
  await ensureGradients();
  const totalSteps = task.totalSteps;
  const out = config.output;
  const lastDir = path.join(out, 'last');
  fs.mkdirSync(out, { recursive: true });
  const optimizer = createAdamW({ beta1: config.optimizer.beta1, beta2: config.optimizer.beta2, epsilon: config.optimizer.epsilon, weightDecay: config.optimizer.weightDecay, clipNorm: config.optimizer.clipNorm });
  const schedule = { peak: config.optimizer.learningRate, warmupSteps: config.schedule.warmupSteps, totalSteps, minRatio: config.schedule.minLearningRatio };

  let state: TrainerState = { version: 1, step: 0, totalSteps, updates: 0, phase: phaseAt(config, 0, totalSteps).phase, seed: config.seed, batchSize: config.batchSize, bestMetric: null, bestStep: null, evalsWithoutImprovement: 0, elapsedMs: 0 };
  let model: SwapformerModel;
  if (options.resume && fs.existsSync(path.join(lastDir, 'trainer_state.json'))) {
    const saved = readTrainerState(lastDir);
    if (saved.totalSteps !== totalSteps || saved.seed !== config.seed || saved.batchSize !== config.batchSize) {
      throw new SwapformerError('invalid-config', `cannot resume ${lastDir}: it was trained with totalSteps ${saved.totalSteps}, seed ${saved.seed}, batchSize ${saved.batchSize}; the config now says ${totalSteps}, ${config.seed}, ${config.batchSize}.`, { path: lastDir });
    }
    state = saved;
    model = factory.load(lastDir, phaseAt(config, state.step, totalSteps).attention);
    restoreOptimizer(lastDir, optimizer, state.updates);
    objective.restoreState?.(lastDir, model);
  } else if (config.init) {
    model = factory.load(config.init, phaseAt(config, 0, totalSteps).attention);
  } else {
    model = factory.create(phaseAt(config, 0, totalSteps).attention, deriveSeed(config.seed, 'init'));
  }

  const metricsFile = path.join(out, 'metrics.jsonl');
  const emit = (line: MetricsLine) => {
    fs.appendFileSync(metricsFile, `${JSON.stringify(line)}\n`);
    options.onMetrics?.(line, { step: state.step, totalSteps });
  };
  // webgpu in Node cannot read synchronously: values are downloaded first, then written.
  const stateTensors = () => [...model.parameters().map((p) => p.variable), ...[...optimizer.state().values()].flatMap((m) => [m.m, m.v]), ...(objective.stateTensors?.() ?? [])];
  const saveWeights = async (dir: string) => {
    await prefetchValues(stateTensors());
    replaceDirectoryAtomic(dir, (tmp) => {
      factory.save(model, tmp);
      task.saveExtras(tmp);
    });
  };
  const checkpoint = async () => {
    await prefetchValues(stateTensors());
    saveTrainerCheckpoint(lastDir, { model, factory, optimizer, state: { ...state, updates: optimizer.updates }, extras: objective.saveState });
  };

  const started = Date.now() - state.elapsedMs;
  const elapsed = () => (Date.now() - started) / 1000;
  let stoppedEarly = false;
  let paused = false;
  const deadline = options.maxMinutes === undefined ? Infinity : Date.now() + options.maxMinutes * 60_000;
  let windowStart = Date.now();
  let windowSteps = 0;
  // Summed on the device so the mean loss of a log window costs no sync per step.
  let lossSum: tf.Scalar = tf.scalar(0);
  if (state.step === 0) emit({ type: 'phase', step: 0, phase: state.phase, attention: phaseAt(config, 0, totalSteps).attention ?? null });

  const evaluate = async () => {
    const value = await task.validate(model);
    // The best checkpoint must run the operator being trained, so the warm start never sets it.
    const counts = state.phase === 'main';
    const better = counts && (state.bestMetric === null || (task.metric.higherIsBetter ? value > state.bestMetric : value < state.bestMetric));
    if (better && Number.isFinite(value)) {
      state = { ...state, bestMetric: value, bestStep: state.step, evalsWithoutImprovement: 0 };
      await saveWeights(path.join(out, 'best'));
    } else if (counts) {
      state = { ...state, evalsWithoutImprovement: state.evalsWithoutImprovement + 1 };
    }
    emit({ type: 'eval', step: state.step, metric: task.metric.name, value, best: state.bestMetric, phase: state.phase, elapsed_s: elapsed() });
  };

  try {
    while (state.step < totalSteps) {
      const want = phaseAt(config, state.step, totalSteps);
      if (want.phase !== state.phase) {
        const next = factory.create(want.attention, deriveSeed(config.seed, 'init'));
        copyParameters(model, next);
        model.dispose();
        model = next;
        state = { ...state, phase: want.phase };
        emit({ type: 'phase', step: state.step, phase: want.phase, attention: want.attention ?? null });
      }
      const lr = learningRateAt(schedule, state.step);
      const batch = task.batch(state.step);
      const params = objective.trainable(model);
      const seed = deriveSeed(config.seed, 'step', state.step);
      const { value, grads } = objective.lossAndGrads(model, params, batch, seed);
      batch.input.dispose();
      batch.target.dispose();
      const norm = optimizer.step(params, grads, lr);
      objective.afterUpdate?.(model);
      state = { ...state, step: state.step + 1 };
      windowSteps += 1;
      const logNow = state.step % config.logEvery === 0 || state.step === totalSteps;
      const summed = tf.add(lossSum, value) as tf.Scalar;
      lossSum.dispose();
      lossSum = summed;
      value.dispose();
      // Reading values forces the queued steps to finish; on webgpu only do that when logging.
      if (logNow) {
        const loss = (await lossSum.data())[0] / windowSteps;
        const gradNorm = (await norm.data())[0];
        await throwIfWebGpuFailed(`training (up to step ${state.step})`);
        const seconds = (Date.now() - windowStart) / 1000;
        emit({ type: 'train', step: state.step, loss, lr, grad_norm: gradNorm, throughput: (windowSteps * task.unitsPerStep) / Math.max(seconds, 1e-9), unit: task.unit, phase: state.phase, elapsed_s: elapsed() });
        if (!Number.isFinite(loss)) throw new SwapformerError('operator-failed', `training diverged at step ${state.step}: the loss is ${loss}. Lower optimizer.learningRate or raise schedule.warmupSteps.`);
        windowStart = Date.now();
        windowSteps = 0;
        lossSum.dispose();
        lossSum = tf.scalar(0);
      }
      norm.dispose();
      state = { ...state, elapsedMs: Date.now() - started };
      if (state.step % config.eval.every === 0 || state.step === totalSteps) {
        await evaluate();
        if (config.eval.patience > 0 && state.evalsWithoutImprovement >= config.eval.patience) stoppedEarly = true;
      }
      paused = !stoppedEarly && state.step < totalSteps && Date.now() > deadline;
      if (state.step % config.checkpointEvery === 0 || state.step === totalSteps || stoppedEarly || paused) await checkpoint();
      if (stoppedEarly || paused) break;
    }
    if (!paused) await saveWeights(path.join(out, 'final'));
  } finally {
    lossSum.dispose();
    model.dispose();
    optimizer.dispose();
  }
  return { steps: state.step, totalSteps, stoppedEarly, paused, bestMetric: state.bestMetric, bestStep: state.bestStep, output: out, elapsedMs: state.elapsedMs };
}
