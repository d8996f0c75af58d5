/**
 * The demo's models, free of the DOM so that Node runs the very same code for the parity test:
 * the committed Fashion-MNIST ViT (per-layer operator choice) and the char-level GPT, both
 * loaded over HTTP with fetchCheckpoint. Fetched files are kept, so changing operators rebuilds
 * the graph from memory instead of downloading again.
 */
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, createProfiler, type AttentionPlugin } from '@swapformer/core';
import { createOperatorRegistry, type AttentionSpec, type OperatorRegistry } from '@swapformer/registry';
import { fusedAttentionInfo } from '@swapformer/kernels';
import { fetchCheckpoint, generate, tokenizerFor, type BuiltInModel, type GptModel, type LoadReport, type VitModel } from '@swapformer/models';
import { exactPlugin } from '@swapformer/plugin-exact';
import { kdeformerPlugin } from '@swapformer/plugin-kdeformer';
import { levattentionPlugin } from '@swapformer/plugin-levattention';
import { performerPlugin } from '@swapformer/plugin-performer';
import { thinformerPlugin } from '@swapformer/plugin-thinformer';
import { tostPlugin } from '@swapformer/plugin-tost';
import { decodeImageSet, FASHION_MNIST_LABELS, normalizePixels, type ImageSet } from './imageSet';

export const PLUGINS: readonly AttentionPlugin[] = [exactPlugin, performerPlugin, thinformerPlugin, kdeformerPlugin, levattentionPlugin, tostPlugin] as AttentionPlugin[];

/** The checkpoints the demo ships (folders under `checkpoints/` next to the page). */
export const VIT_CHECKPOINTS = { exact: 'vit-fmnist-exact', tost: 'vit-fmnist-tost' } as const;
export const GPT_CHECKPOINT = 'gpt-sotu-exact';

export interface ClassifyRequest {
  readonly indices: readonly number[];
  /** One operator name per layer (pixel stage first), or one for every layer. */
  readonly operators: string | readonly string[];
  /** 'exact' weights take any drop-in operator; TOST has its own trained weights. */
  readonly checkpoint?: keyof typeof VIT_CHECKPOINTS;
  readonly seed?: number;
  readonly batchSize?: number;
  /** Images to classify instead of the bundled set (a drawing). */
  readonly images?: ImageSet;
}

export interface ClassifyResult {
  readonly predictions: number[];
  readonly logits: number[][];
  /** Share of `indices` whose prediction equals the label. */
  readonly accuracy: number;
  /** Time inside attention (the profiler; enqueue time only where the backend cannot read synchronously). */
  readonly attentionMs: number;
  readonly totalMs: number;
  readonly operators: readonly string[];
}

export interface GenerateRequest {
  readonly prompt: string;
  readonly operator: string;
  readonly maxNewTokens: number;
  readonly seed: number;
  readonly temperature?: number;
  readonly topK?: number;
}

type Fetch = (url: string) => Promise<Response>;

/** A fetch that answers each URL once from the network, then from memory. */
function memoizedFetch(fetchFn: Fetch): Fetch {
  const bodies = new Map<string, Promise<{ status: number; statusText: string; headers: Headers; body: ArrayBuffer }>>();
  return async (url) => {
    if (!bodies.has(url)) {
      const pending = fetchFn(url).then(async (r) => ({ status: r.status, statusText: r.statusText, headers: r.headers, body: await r.arrayBuffer() }));
      bodies.set(url, pending);
      pending.catch(() => bodies.delete(url)); // a failure is not remembered: retrying may work
    }
    const r = await bodies.get(url)!;
    return new Response(r.status === 204 || r.status === 304 ? null : r.body.slice(0), { status: r.status, statusText: r.statusText, headers: r.headers });
  };
}

function perLayerSpec(operators: readonly string[]): AttentionSpec {
  return { default: { name: operators[0] }, overrides: operators.map((name, layers) => ({ layers, name })) };
}

export interface DemoModels {
  readonly registry: OperatorRegistry;
  readonly images: ImageSet;
  readonly labels: readonly string[];
  /** Attention layers of the ViT (pixel stage first). */
  readonly vitLayers: number;
  /** Operators a GPT can use (those that support causal attention). */
  readonly causalOperators: readonly string[];
  /**
   * How the CPU kernels run: threads (the container's setting: the page's cores when it is
   * cross-origin isolated, else 1) and whether they use relaxed-SIMD multiply-add (Chromium does,
   * Node 20 does not, so float32 results differ in the last bits).
   */
  readonly kernels: { readonly threads: number; readonly fma: boolean };
  classify(request: ClassifyRequest): Promise<ClassifyResult>;
  generate(request: GenerateRequest): Promise<{ text: string; tokens: number[]; decoding: string; ms: number }>;
  /** Loads any checkpoint URL (the bad-input path of the page): its report, or the error. */
  tryCheckpoint(url: string): Promise<LoadReport>;
  dispose(): void;
}

/**
 * Loads the demo's data and models from `baseUrl` (the folder of the page's assets).
 *
 * @example const demo = await createDemoModels(new URL('./', location.href).href); await demo.classify({ indices: [0, 1], operators: 'performer' });
 */
export async function createDemoModels(baseUrl: string, fetchFn: Fetch = (u) => fetch(u)): Promise<DemoModels> {
  const base = baseUrl.replace(/\/+$/, '');
  const cached = memoizedFetch(fetchFn);
  const registry = createOperatorRegistry();
  for (const plugin of PLUGINS) registry.register(plugin);
  const imagesResponse = await cached(`${base}/data/fashion-mnist-test.bin`);
  if (!imagesResponse.ok) throw new Error(`cannot load the bundled images (${base}/data/fashion-mnist-test.bin): ${imagesResponse.status} ${imagesResponse.statusText}`);
  const images = decodeImageSet(new Uint8Array(await imagesResponse.arrayBuffer()));
  const profiler = createProfiler(registry.hooks, { sync: canReadSync() });
  const models = new Map<string, BuiltInModel>();

  /** `attention` undefined: the operators the checkpoint was saved with. */
  async function model(checkpoint: string, attention: AttentionSpec | undefined): Promise<BuiltInModel> {
    const key = `${checkpoint}\u0000${JSON.stringify(attention)}`;
    if (!models.has(key)) {
      // keep one graph per checkpoint: each holds a copy of the weights
      for (const [k, m] of models) if (k.startsWith(`${checkpoint}\u0000`)) (m.dispose(), models.delete(k));
      models.set(key, (await fetchCheckpoint(`${base}/checkpoints/${checkpoint}`, registry, { attention, fetch: cached })).model);
    }
    return models.get(key)!;
  }

  const exactVit = (await model(VIT_CHECKPOINTS.exact, { name: 'exact' })) as VitModel;
  const vitLayers = exactVit.layers.length;

  return {
    registry,
    images,
    labels: FASHION_MNIST_LABELS,
    vitLayers,
    causalOperators: registry.list().filter((p) => p.capabilities.causal !== 'none').map((p) => p.meta.name),
    kernels: { threads: registry.services.kernels.threads, fma: fusedAttentionInfo(registry.services.kernels).fma },
    async classify(request) {
      const operators = typeof request.operators === 'string' ? Array.from({ length: vitLayers }, () => request.operators as string) : [...request.operators];
      if (operators.length !== vitLayers) throw new Error(`the ViT has ${vitLayers} attention layers; ${operators.length} operators were given.`);
      // TOST's weights were trained with TOST (not drop-in for softmax weights): load them as saved
      const vit = (await model(VIT_CHECKPOINTS[request.checkpoint ?? 'exact'], request.checkpoint === 'tost' ? undefined : perLayerSpec(operators))) as VitModel;
      const set = request.images ?? images;
      const batchSize = request.batchSize ?? 50;
      const started = performance.now();
      profiler.reset();
      const logits: number[][] = [];
      for (let i = 0; i < request.indices.length; i += batchSize) {
        const batch = request.indices.slice(i, i + batchSize);
        const out = tf.tidy(() => vit.forward(tf.tensor4d(normalizePixels(set, batch), [batch.length, 1, set.height, set.width]), { seed: request.seed ?? 0 }));
        const values = (await out.data()) as Float32Array;
        out.dispose();
        const classes = out.shape[1]!;
        for (let b = 0; b < batch.length; b++) logits.push(Array.from(values.subarray(b * classes, (b + 1) * classes)));
      }
      const predictions = logits.map((row) => row.indexOf(Math.max(...row)));
      const correct = predictions.filter((p, i) => p === set.labels[request.indices[i]]).length;
      return { predictions, logits, accuracy: correct / Math.max(1, predictions.length), attentionMs: profiler.totalMs(), totalMs: performance.now() - started, operators };
    },
    async generate(request) {
      const gpt = (await model(GPT_CHECKPOINT, { name: request.operator })) as GptModel;
      const tokenizer = tokenizerFor(gpt.modelConfig);
      const started = performance.now();
      const result = generate(gpt, [tokenizer.encode(request.prompt)], { maxNewTokens: request.maxNewTokens, seed: request.seed, temperature: request.temperature ?? 0.8, topK: request.topK ?? 10 });
      return { text: tokenizer.decode(result.tokens[0]), tokens: result.tokens[0], decoding: result.decoding, ms: performance.now() - started };
    },
    async tryCheckpoint(url) {
      const { model: loaded, report } = await fetchCheckpoint(url, registry, { fetch: fetchFn });
      loaded.dispose();
      return report;
    },
    dispose() {
      profiler.stop();
      for (const m of models.values()) m.dispose();
      models.clear();
    },
  };
}
