/**
 * Resumable checkpoints: the model in HF layout (config.json + model.safetensors, written by
 * the model factory), plus `optimizer.safetensors` (AdamW moments by parameter name) and
 * `trainer_state.json` (step, phase, best metric). A checkpoint directory is written under a
 * temporary name and renamed into place, so a crash never leaves a half-written `last/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { type SwapformerModel, encodeSafetensors, openSafetensors, type TensorToWrite, replaceDirectoryAtomic, writeFileAtomic } from '@swapformer/models';
import type { AdamW } from './adamW';
import type { ModelFactory } from './ModelFactory';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Where a run stands; enough to continue it exactly (batches are a function of seed and step). */
export interface TrainerState {
  readonly version: 1;
  /** Optimizer steps completed. */
  readonly step: number;
  readonly totalSteps: number;
  /** AdamW update count (bias correction). */
  readonly updates: number;
  readonly phase: 'warm-start' | 'main';
  readonly seed: number;
  readonly batchSize: number;
  readonly bestMetric: number | null;
  readonly bestStep: number | null;
  readonly evalsWithoutImprovement: number;
  /** Training wall time so far, in ms. */
  readonly elapsedMs: number;
}

/** Saves model, optimizer moments and trainer state into `dir` atomically. */
export function saveTrainerCheckpoint(dir: string, parts: { model: SwapformerModel; factory: ModelFactory; optimizer: AdamW; state: TrainerState; extras?: (dir: string) => void }): void {
  replaceDirectoryAtomic(dir, (tmp) => {
    parts.factory.save(parts.model, tmp);
    const moments = new Map<string, TensorToWrite>();
    for (const [name, { m, v }] of parts.optimizer.state()) {
      moments.set(`${name}.exp_avg`, { shape: m.shape, data: m.dataSync() as Float32Array });
      moments.set(`${name}.exp_avg_sq`, { shape: v.shape, data: v.dataSync() as Float32Array });
    }
    writeFileAtomic(path.join(tmp, OPTIMIZER_FILE), encodeSafetensors(moments, { format: 'adamw', updates: String(parts.optimizer.updates) }));
    fs.writeFileSync(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(parts.state, null, 2)}\n`);
    parts.extras?.(tmp);
  });
}

/** Reads `trainer_state.json` of a checkpoint. */
export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, TRAINER_STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
  } catch (error) {
    throw new SwapformerError('invalid-checkpoint', `cannot resume from ${dir}: ${TRAINER_STATE_FILE} is missing or not JSON (${(error as Error).message}).`, { path: file, cause: error });
  }
  if (state.version !== 1 || !Number.isInteger(state.step)) throw new SwapformerError('invalid-checkpoint', `${file}: not a version-1 trainer state.`, { path: file });
  return state;
}

/** Restores AdamW moments saved by `saveTrainerCheckpoint`. */
export function restoreOptimizer(dir: string, optimizer: AdamW, updates: number): void {
  const saved = openSafetensors(path.join(dir, OPTIMIZER_FILE));
  const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  for (const [key, entry] of saved.entries) {
    if (!key.endsWith('.exp_avg')) continue;
    const name = key.slice(0, -'.exp_avg'.length);
    const sq = saved.entries.get(`${name}.exp_avg_sq`);
    if (!sq) throw new SwapformerError('invalid-checkpoint', `${dir}/${OPTIMIZER_FILE}: "${name}.exp_avg_sq" is missing.`, { path: dir });
    moments.set(name, { m: tf.tensor(saved.read(key), [...entry.shape]), v: tf.tensor(saved.read(`${name}.exp_avg_sq`), [...sq.shape]) });
  }
  optimizer.restore(moments, updates);
  for (const { m, v } of moments.values()) {
    m.dispose();
    v.dispose();
  }
}
