/**
 * The demo page: wires the DOM to demoModels.ts. Every action reports failures on the page and
 * in the console and leaves the page usable; `window.swapformerDemo` exposes the same calls to
 * the browser tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { startBackend, type BackendState } from './backendChoice';
import { createDemoModels, type DemoModels } from './demoModels';
import { imageFromDrawing } from './imageSet';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SCALE = 6; // canvas pixels per image pixel

interface PageState {
  models: DemoModels | null;
  backend: BackendState | null;
  imageIndex: number;
  /** Ink of the drawing (h·w in [0, 1]); null while a bundled image is shown. */
  drawing: Float32Array | null;
  readonly errors: string[];
}

const state: PageState = { models: null, backend: null, imageIndex: 0, drawing: null, errors: [] };

function showError(context: string, error: unknown): void {
  const message = `${context}: ${(error as Error)?.message ?? String(error)}`;
  state.errors.push(message);
  console.error(`[swapformer demo] ${message}`, error);
  const box = $<HTMLParagraphElement>('error');
  box.textContent = message;
  box.hidden = false;
}

/** Runs an action with its button disabled; a failure is shown, never thrown at the page. */
async function action(button: HTMLButtonElement | null, context: string, run: () => Promise<void>): Promise<void> {
  if (button) button.disabled = true;
  $<HTMLParagraphElement>('error').hidden = true;
  try {
    await run();
  } catch (error) {
    showError(context, error);
  } finally {
    if (button) button.disabled = false;
  }
}

function drawImage(models: DemoModels): void {
  const canvas = $<HTMLCanvasElement>('image');
  const ctx = canvas.getContext('2d')!;
  const { height: h, width: w, pixels, labels } = models.images;
  const data = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = state.drawing ? Math.round(state.drawing[i] * 255) : pixels[state.imageIndex * h * w + i];
    data.data.set([v, v, v, 255], i * 4);
  }
  const small = new OffscreenCanvas(w, h);
  small.getContext('2d')!.putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * SCALE, h * SCALE);
  $('image-label').textContent = state.drawing ? 'your drawing' : `image ${state.imageIndex} (${models.labels[labels[state.imageIndex]]})`;
}

function selectedOperators(models: DemoModels): string[] {
  return Array.from({ length: models.vitLayers }, (_, i) => $<HTMLSelectElement>(`layer-${i}`).value);
}

function buildControls(models: DemoModels): void {
  const fieldset = $<HTMLFieldSetElement>('layers');
  fieldset.querySelectorAll('label').forEach((l) => l.remove());
  const names = models.registry.list().map((p) => p.meta.name);
  for (let i = 0; i < models.vitLayers; i++) {
    const label = document.createElement('label');
    label.textContent = `Layer ${i}${i === 0 ? ' (pixel stage)' : ''} `;
    const select = document.createElement('select');
    select.id = `layer-${i}`;
    for (const name of names) select.add(new Option(name, name, name === 'exact', name === 'exact'));
    label.append(select);
    fieldset.append(label);
  }
  const gptOps = $<HTMLSelectElement>('gpt-operator');
  gptOps.replaceChildren(...models.causalOperators.map((n) => new Option(n, n, n === 'exact', n === 'exact')));
}

function showBackend(backend: BackendState, models: DemoModels): void {
  const { threads, fma } = models.kernels;
  const wasm = ` (${backend.simd ? `SIMD${fma ? ' + FMA' : ''}` : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
  $('backend').textContent = `Backend: ${backend.active}${backend.active === 'wasm' ? wasm : ''} · cross-origin isolated: ${backend.isolated ? 'yes' : 'no'}`;
  $('notes').replaceChildren(...backend.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
}

/** A lost GPU device (driver reset, tab in the background too long) moves the demo to wasm. */
function watchDeviceLoss(baseUrl: string): void {
  if (tf.getBackend() !== 'webgpu') return;
  const device = (tf.backend() as unknown as { device?: { lost?: Promise<{ message?: string; reason?: string }> } }).device;
  device?.lost?.then(async (info) => {
    showError('WebGPU', new Error(`the GPU device was lost (${info?.reason ?? 'unknown'}: ${info?.message ?? ''}); switching to wasm.`));
    state.models?.dispose();
    state.models = null;
    await action(null, 'Switching to wasm', async () => {
      const backend = await startBackend('wasm', `${baseUrl}/wasm/`);
      state.models = await createDemoModels(baseUrl);
      buildControls(state.models);
      drawImage(state.models);
      // shown last: once it says wasm, the models on wasm are ready
      state.backend = { ...backend, notes: [...backend.notes, 'WebGPU was lost; running on wasm.'] };
      showBackend(state.backend, state.models);
    });
  });
}

function wireDrawing(): void {
  const canvas = $<HTMLCanvasElement>('image');
  let down = false;
  const paint = (event: PointerEvent) => {
    if (!down || !state.models || !state.drawing) return;
    const { width: w, height: h } = state.models.images;
    const rect = canvas.getBoundingClientRect();
    const cx = ((event.clientX - rect.left) / rect.width) * w;
    const cy = ((event.clientY - rect.top) / rect.height) * h;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const d2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
      if (d2 < 2.2) state.drawing[y * w + x] = Math.max(state.drawing[y * w + x], 1 - d2 / 2.2);
    }
    drawImage(state.models);
  };
  canvas.addEventListener('pointerdown', (e) => {
    down = true;
    if (!state.drawing && state.models) state.drawing = new Float32Array(state.models.images.height * state.models.images.width);
    paint(e);
  });
  canvas.addEventListener('pointermove', paint);
  window.addEventListener('pointerup', () => (down = false));
}

async function classifyShown(): Promise<void> {
  const models = state.models!;
  const checkpoint = $<HTMLSelectElement>('checkpoint').value as 'exact' | 'tost';
  const operators = checkpoint === 'tost' ? 'tost' : selectedOperators(models);
  const images = state.drawing ? imageFromDrawing(state.drawing, models.images) : undefined;
  const r = await models.classify({ indices: [images ? 0 : state.imageIndex], operators, checkpoint, images });
  const probs = tf.tidy(() => tf.softmax(tf.tensor1d(r.logits[0])).dataSync());
  $('prediction').textContent = `Prediction: ${models.labels[r.predictions[0]]} (${(probs[r.predictions[0]] * 100).toFixed(1)}%)`;
  $('timing').textContent = `attention ${r.attentionMs.toFixed(1)} ms of ${r.totalMs.toFixed(1)} ms · operators ${r.operators.join(', ')}`;
}

async function main(): Promise<void> {
  const baseUrl = new URL('.', location.href).href.replace(/\/$/, '');
  const requested = (new URLSearchParams(location.search).get('backend') ?? 'auto') as 'auto' | 'webgpu' | 'wasm';
  state.backend = await startBackend(requested, `${baseUrl}/wasm/`);
  $('backend').textContent = `Backend: ${state.backend.active} · loading the models…`;
  state.models = await createDemoModels(baseUrl);
  showBackend(state.backend, state.models);
  watchDeviceLoss(baseUrl);
  buildControls(state.models);
  drawImage(state.models);
  wireDrawing();
  const step = (delta: number) => {
    const models = state.models!;
    state.drawing = null;
    state.imageIndex = (state.imageIndex + delta + models.images.count) % models.images.count;
    drawImage(models);
  };
  $('prev').onclick = () => step(-1);
  $('next').onclick = () => step(1);
  $('clear').onclick = () => {
    state.drawing = new Float32Array(state.models!.images.height * state.models!.images.width);
    drawImage(state.models!);
  };
  $<HTMLButtonElement>('classify').onclick = (e) => action(e.currentTarget as HTMLButtonElement, 'Classify', classifyShown);
  $<HTMLButtonElement>('accuracy').onclick = (e) =>
    action(e.currentTarget as HTMLButtonElement, 'Accuracy', async () => {
      const models = state.models!;
      const checkpoint = $<HTMLSelectElement>('checkpoint').value as 'exact' | 'tost';
      const indices = Array.from({ length: models.images.count }, (_, i) => i);
      const r = await models.classify({ indices, operators: checkpoint === 'tost' ? 'tost' : selectedOperators(models), checkpoint });
      $('accuracy-result').textContent = `Accuracy on ${indices.length} test images: ${(r.accuracy * 100).toFixed(1)}% · attention ${r.attentionMs.toFixed(0)} ms of ${r.totalMs.toFixed(0)} ms`;
    });
  $<HTMLButtonElement>('generate').onclick = (e) =>
    action(e.currentTarget as HTMLButtonElement, 'Generate', async () => {
      const r = await state.models!.generate({
        prompt: $<HTMLInputElement>('prompt').value,
        operator: $<HTMLSelectElement>('gpt-operator').value,
        maxNewTokens: Number($<HTMLInputElement>('tokens').value),
        seed: Number($<HTMLInputElement>('seed').value),
      });
      $('generated').textContent = `${$<HTMLInputElement>('prompt').value}${r.text}\n\n(${r.tokens.length} tokens in ${r.ms.toFixed(0)} ms, ${r.decoding})`;
    });
  $<HTMLButtonElement>('load-url').onclick = (e) =>
    action(e.currentTarget as HTMLButtonElement, 'Loading the checkpoint', async () => {
      const url = new URL($<HTMLInputElement>('checkpoint-url').value || 'checkpoints/vit-fmnist-exact', location.href).href;
      $('url-result').textContent = '';
      const report = await state.models!.tryCheckpoint(url);
      $('url-result').textContent = `Loaded ${report.architecture}: ${report.loaded.length} tensors.`;
    });
}

const ready = main().catch((error) => showError('Starting the demo', error));
/** Destroys the WebGPU device, as a driver reset would: to try (and test) the fallback to wasm. */
function loseDevice(): void {
  (tf.backend() as unknown as { device?: { destroy?: () => void } }).device?.destroy?.();
}

Object.assign(window, { swapformerDemo: { ready, state, loseDevice } });
