/**
 * The main job: the ViT drop-in table (Fashion-MNIST accuracy and attention time per operator,
 * swapped into the long-sequence layers of an exact-trained checkpoint, plus checkpoints
 * trained with TOST / LevAttention) and the GPT table (held-out bits per character and a
 * sample per causal-capable operator, plus the TOST-trained model).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync } from '@swapformer/core';
import { attentionSelections, type OperatorRegistry } from '@swapformer/registry';
import { vocabularyFromModelConfig } from '../data/charVocabulary';
import { loadCommittedSotuSlice, loadCommittedTestSubset } from '../data/committedData';
import { loadFashionMnist, type ImageSet } from '../data/fashionMnist';
import { joinSpeeches, loadSotuSpeeches, splitSpeeches } from '../data/sotu';
import { imagePixels, textEvalWindows } from '../train/batches';
import { evaluateAccuracy, evaluateTextLoss } from '../train/evaluate';
import { generateText } from './generateText';
import { measureRows, type CheckpointLoader, type TableRow } from './measureRows';
import type { DropInOperator, RunConfig } from './runConfig';

export interface DropInReport {
  readonly backend: string;
  /** How attention was timed: hook taps around every call, or each operator alone on captured inputs. */
  readonly timing: 'profiler' | 'isolated';
  readonly full: boolean;
  readonly seeds: readonly number[];
  readonly vit?: { readonly rows: readonly TableRow[]; readonly images: number; readonly dataset: string; readonly swapLayers: unknown };
  readonly gpt?: { readonly rows: readonly TableRow[]; readonly windows: number; readonly contextLength: number; readonly prompt: string; readonly text: string };
  readonly elapsedMs: number;
}

export interface RunOptions {
  readonly config: RunConfig;
  readonly registry: OperatorRegistry;
  readonly load: CheckpointLoader;
  /** Evaluate the whole 10,000-image test set (from the apt package) and every text window. */
  readonly full?: boolean;
  /**
   * Root of exported data for `full` (`exportTrainingData`): the Fashion-MNIST test set from
   * `<root>/fashion-mnist` and the SOTU test split from `<root>/sotu` (default: the apt and npm
   * packages).
   */
  readonly fullDataDir?: string;
  /** Image set to use instead of the committed subset (tests). */
  readonly images?: ImageSet;
  /** Held-out text to use instead of the committed slice (tests). */
  readonly text?: string;
  /** How attention is timed (default: the profiler where the backend reads synchronously, else isolated). */
  readonly timing?: 'profiler' | 'isolated';
  /** Progress: called after each (row, seed) with the number done and the planned total. */
  readonly onProgress?: (label: string) => void;
}

/** Number of (row, seed) evaluations a config plans (for the progress bar). */
export function plannedEvaluations(config: RunConfig, registry: OperatorRegistry): number {
  const perRow = (op: DropInOperator, causal: boolean) => {
    const names = op.attention ? attentionSelections(op.attention).map((s) => s.selection.name) : [op.name!];
    if (names.some((n) => !registry.has(n) || (causal && registry.get(n).capabilities.causal === 'none'))) return 0;
    return names.some((n) => registry.get(n).capabilities.randomness === 'seeded') ? config.seeds.length : 1;
  };
  const count = (ops: readonly DropInOperator[], trained: readonly unknown[], causal: boolean) => ops.reduce((s, o) => s + perRow(o, causal), 0) + trained.length;
  return (config.vit ? count(config.vit.operators, config.vit.trained, false) : 0) + (config.gpt ? count(config.gpt.operators, config.gpt.trained, true) : 0);
}

/**
 * Runs the tables a config asks for.
 *
 * @example const report = await runDropIn({ config, registry, load: (dir, attention) => loadCheckpoint(dir, registry, { attention }) });
 */
export async function runDropIn(options: RunOptions): Promise<DropInReport> {
  const { config, registry, load } = options;
  const started = performance.now();
  let vit: DropInReport['vit'];
  let gpt: DropInReport['gpt'];
  const onSeedDone = (label: string, seed: number) => options.onProgress?.(`${label} seed ${seed}`);

  if (config.vit) {
    const v = config.vit;
    const set = options.images ?? (options.full ? loadFashionMnist('test', options.fullDataDir && path.join(options.fullDataDir, 'fashion-mnist')) : loadCommittedTestSubset());
    const images = options.full ? set.count : Math.min(v.images, set.count);
    const warmUp = async (model: { forward: (x: tf.Tensor) => tf.Tensor }) => {
      const px = imagePixels(set, [0, 1]);
      const out = tf.tidy(() => model.forward(tf.tensor4d(px, [2, 1, set.height, set.width])));
      await out.data();
      out.dispose();
    };
    const rows = await measureRows(
      { registry, load, seeds: config.seeds, timedLayers: v.swapLayers, timing: options.timing, warmUp, onSeedDone, evaluate: async (model, seed) => ({ metric: (await evaluateAccuracy(model, set, { batchSize: v.batchSize, seed, limit: images })).accuracy, examples: images }) },
      v.checkpoint,
      v.operators,
      v.trained,
      v.swapLayers,
      {},
      v.adapted,
    );
    vit = { rows, images, dataset: options.full ? 'Fashion-MNIST test set (10,000 images)' : `committed Fashion-MNIST test subset (${images} images, balanced)`, swapLayers: v.swapLayers };
  }

  if (config.gpt) {
    const g = config.gpt;
    // --full: the whole test split (2010–2021 addresses); otherwise the committed slice of it.
    const text = options.text ?? (options.full ? joinSpeeches(splitSpeeches(loadSotuSpeeches(options.fullDataDir && path.join(options.fullDataDir, 'sotu'))).test) : loadCommittedSotuSlice());
    const prompt = text.slice(0, g.sample.promptChars);
    let windowsUsed = 0;
    const rows = await measureRows(
      {
        registry,
        load,
        seeds: config.seeds,
        timing: options.timing,
        onSeedDone,
        warmUp: async (model) => {
          const out = tf.tidy(() => model.forward(tf.zeros([1, 8], 'int32')));
          await out.data();
          out.dispose();
        },
        evaluate: async (model, seed) => {
          const vocab = vocabularyFromModelConfig(model.config);
          const windows = textEvalWindows(vocab.encode(text), g.contextLength, options.full ? Infinity : g.windows);
          windowsUsed = windows.length;
          return { metric: (await evaluateTextLoss(model, windows, { batchSize: g.batchSize, seed })).bitsPerChar, examples: windows.length };
        },
        afterRow: async (model, seed) => (g.sample.length > 0 ? generateText(model, vocabularyFromModelConfig(model.config), prompt, { length: g.sample.length, temperature: g.sample.temperature, seed, contextLength: g.contextLength }) : undefined),
      },
      g.checkpoint,
      g.operators,
      g.trained,
      undefined,
      { causal: true },
      g.adapted,
    );
    gpt = { rows, windows: windowsUsed, contextLength: g.contextLength, prompt, text: options.full ? 'the 2010–2021 addresses (test split)' : 'the committed slice of the 2010–2021 addresses (data/sotu/test-slice.txt)' };
  }
  return { backend: tf.getBackend(), timing: options.timing ?? (canReadSync() ? 'profiler' : 'isolated'), full: Boolean(options.full), seeds: config.seeds, vit, gpt, elapsedMs: performance.now() - started };
}
