/**
 * Hugging Face checkpoints over HTTP (a page, a worker, or Node ≥ 18's fetch): `config.json` and
 * `model.safetensors` (or `model.safetensors.index.json` with its shards) under one base URL,
 * e.g. the hub's `https://huggingface.co/<repo>/resolve/<revision>`. Every response is checked
 * before it is trusted: a status other than 2xx, an HTML page where a file was expected (a wrong
 * URL behind a single-page-app fallback, a login page) and a body shorter than its
 * Content-Length each get one error naming the URL.
 */
import { SwapformerError } from '@swapformer/core';
import type { OperatorRegistry } from '@swapformer/registry';
import type { BuiltInModel } from '../families/builtInFamilies';
import type { CheckpointTensors } from './checkpointFiles';
import { modelFromCheckpoint, type LoadCheckpointOptions, type LoadReport } from './modelFromCheckpoint';
import { readSafetensorsBytes, type SafetensorsEntry, type SafetensorsFile } from './safetensorsFormat';

type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; statusText: string; headers: { get(name: string): string | null }; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface FetchCheckpointOptions extends LoadCheckpointOptions {
  /** The fetch to use (default: the global one); tests and service workers pass their own. */
  readonly fetch?: FetchLike;
}

/** Where the hub serves a repository's files at a revision (branch, tag or commit). */
export function huggingFaceUrl(repo: string, revision = 'main', host = 'https://huggingface.co'): string {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) throw new SwapformerError('invalid-input', `"${repo}" is not a Hugging Face repository id.\n  Use "<owner>/<name>", e.g. "openai-community/gpt2".`);
  return `${host.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}`;
}

function ioError(url: string, message: string, cause?: unknown): SwapformerError {
  return new SwapformerError('io', `cannot load "${url}": ${message}`, { path: url, cause });
}

function globalFetch(): FetchLike {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof f !== 'function') throw new SwapformerError('io', 'this environment has no fetch().\n  Pass one: fetchCheckpoint(url, registry, { fetch }).');
  return f.bind(globalThis);
}

/** The body of `url`, or null on 404 (a file that may legitimately be absent). */
async function fetchBytes(fetchFn: FetchLike, url: string, optional = false): Promise<Uint8Array | null> {
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    response = await fetchFn(url);
  } catch (error) {
    throw ioError(url, `the request failed (${(error as Error).message}). Is the server up, and does it allow this origin (CORS)?`, error);
  }
  if (optional && response.status === 404) return null;
  if (!response.ok) throw ioError(url, `the server answered ${response.status} ${response.statusText}.`);
  if (/text\/html/i.test(response.headers.get('content-type') ?? '')) {
    throw ioError(url, 'the server answered with an HTML page, not a checkpoint file. Check the URL (for the hub: https://huggingface.co/<repo>/resolve/<revision>).');
  }
  let body: ArrayBuffer;
  try {
    body = await response.arrayBuffer();
  } catch (error) {
    throw ioError(url, `the download broke off (${(error as Error).message}).`, error);
  }
  const declared = Number(response.headers.get('content-length'));
  // a compressed response's Content-Length counts the compressed bytes, so only an uncompressed one is compared
  if (!response.headers.get('content-encoding') && Number.isFinite(declared) && declared > 0 && body.byteLength < declared) {
    throw ioError(url, `the download is truncated: ${body.byteLength} of ${declared} bytes arrived.`);
  }
  return new Uint8Array(body);
}

function parseJson(bytes: Uint8Array, url: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new SwapformerError('invalid-checkpoint', `${url}: not valid JSON (${(error as Error).message}).`, { path: url, cause: error });
  }
}

const SHARD_NAME = /^[A-Za-z0-9._-]+\.safetensors$/;

async function fetchTensors(fetchFn: FetchLike, base: string): Promise<CheckpointTensors> {
  const entries = new Map<string, SafetensorsEntry & { readonly file: SafetensorsFile }>();
  const single = await fetchBytes(fetchFn, `${base}/model.safetensors`, true);
  if (single) {
    const file = readSafetensorsBytes(single, `${base}/model.safetensors`);
    for (const [name, entry] of file.entries) entries.set(name, { ...entry, file });
  } else {
    const indexUrl = `${base}/model.safetensors.index.json`;
    const indexBytes = await fetchBytes(fetchFn, indexUrl, true);
    if (!indexBytes) throw ioError(base, 'it has neither model.safetensors nor model.safetensors.index.json (both answered 404).');
    const map = (parseJson(indexBytes, indexUrl) as { weight_map?: unknown })?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new SwapformerError('invalid-checkpoint', `${indexUrl}: has no "weight_map" object.`, { path: indexUrl });
    const shards = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || !SHARD_NAME.test(shard)) throw new SwapformerError('invalid-checkpoint', `${indexUrl}: weight_map["${name}"] = ${JSON.stringify(shard)} is not a plain .safetensors file name.`, { path: indexUrl });
      if (!shards.has(shard)) shards.set(shard, readSafetensorsBytes((await fetchBytes(fetchFn, `${base}/${shard}`))!, `${base}/${shard}`));
      const file = shards.get(shard)!;
      const entry = file.entries.get(name);
      if (!entry) throw new SwapformerError('invalid-checkpoint', `${indexUrl}: maps "${name}" to ${shard}, which has no such tensor.`, { path: indexUrl });
      entries.set(name, { ...entry, file });
    }
  }
  return {
    entries,
    read(name) {
      const entry = entries.get(name);
      if (!entry) throw new SwapformerError('invalid-checkpoint', `checkpoint "${base}" has no tensor "${name}".`, { path: base });
      return entry.file.read(name);
    },
  };
}

/**
 * Loads a checkpoint from a base URL (the folder holding `config.json`) and reports what was
 * loaded; the same graph and weights as `loadCheckpointWithReport` on the same files.
 *
 * @example const { model } = await fetchCheckpoint(huggingFaceUrl('me/vit-fmnist'), registry, { attention: { name: 'performer' } });
 */
export async function fetchCheckpoint(baseUrl: string, registry: OperatorRegistry, options: FetchCheckpointOptions = {}): Promise<{ model: BuiltInModel; report: LoadReport }> {
  const fetchFn = options.fetch ?? globalFetch();
  const base = baseUrl.replace(/\/+$/, '').replace(/\/config\.json$/, '');
  const configUrl = `${base}/config.json`;
  const config = parseJson((await fetchBytes(fetchFn, configUrl))!, configUrl);
  const tensors = await fetchTensors(fetchFn, base);
  return modelFromCheckpoint(config, tensors, base, registry, options);
}
