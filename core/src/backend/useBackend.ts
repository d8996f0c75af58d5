import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';
import { watchWebGpuErrors } from './webGpuErrors';
import { withSubgroups, type DawnGpu } from './dawnSubgroups';
import { withoutAddedProcessHandlers } from './processHandlers';
import { softwareAdapterReason, type AdapterDescription } from './softwareAdapter';
import { BACKEND_NAMES, type BackendName, type BackendRequest } from './BackendName';

/** What `useBackend` did: which backend runs now and why. */
export interface BackendReport {
  readonly requested: BackendRequest;
  readonly active: BackendName;
  /** For `auto`: the backends tried before the active one, with the reason each was skipped. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
}

const PACKAGES: Record<BackendName, readonly string[]> = {
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
};

function isMissingModule(error: unknown, name: string): boolean {
  const e = error as { code?: string; message?: string };
  return (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') && String(e.message).includes(name);
}

function unavailable(name: BackendName, why: string, cause?: unknown): SwapformerError {
  return new SwapformerError('backend-unavailable', `backend "${name}" is not available: ${why}`, { cause });
}

/**
 * Bundles and pages have no `require` by computed name (esbuild leaves a stub that throws
 * "Dynamic require of … is not supported"): there the app imports the backend package itself.
 */
function noDynamicRequire(error: unknown): boolean {
  return typeof require !== 'function' || /dynamic require/i.test(String((error as Error)?.message));
}

function requirePackage(backend: BackendName, pkg: string): unknown {
  try {
    return require(pkg);
  } catch (error) {
    if (noDynamicRequire(error)) {
      throw unavailable(
        backend,
        `it is not registered, and this environment (a bundle or a page) cannot load "${pkg}" by name.\n  Import it in your app before calling useBackend: import '${PACKAGES[backend][0]}';`,
        error,
      );
    }
    if (isMissingModule(error, pkg)) {
      const install = backend === 'tensorflow'
        ? 'npm install @tensorflow/tfjs-node-gpu (or @tensorflow/tfjs-node); both download libtensorflow at install time, so they cannot be installed offline'
        : `npm install ${PACKAGES[backend].join(' ')}`;
      throw unavailable(backend, `the package "${pkg}" is not installed.\n  Install it: ${install}`, error);
    }
    throw unavailable(backend, `loading "${pkg}" failed: ${(error as Error).message}`, error);
  }
}

/**
 * Installs Dawn's WebGPU (the `webgpu` npm package) as `navigator.gpu` and checks for an adapter,
 * or throws. A software adapter (lavapipe, SwiftShader) is refused unless `allowSoftware` — `auto`
 * must not pick one, an explicit `webgpu` may.
 */
async function prepareWebGpu(allowSoftware: boolean): Promise<void> {
  const g = globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } };
  if (!g.navigator?.gpu) {
    const dawn = requirePackage('webgpu', 'webgpu') as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, dawn.globals);
    // integer range analysis lets Tint drop the bounds clamps it can prove unneeded (robustness stays on): −1 % on the flash program (H100)
    const gpu = withSubgroups(dawn.create(['enable-dawn-features=enable_integer_range_analysis_in_robustness']) as DawnGpu);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  const gpu = g.navigator?.gpu;
  if (!gpu) throw unavailable('webgpu', 'this browser has no WebGPU (navigator.gpu is missing).\n  Use the wasm backend here, or a browser with WebGPU enabled.');
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) {
    throw unavailable('webgpu', 'no GPU adapter was found (Dawn needs a Vulkan driver; software Vulkan such as lavapipe lacks required features).\n  Use --backend wasm here, or run on a machine with a GPU.');
  }
  const software = softwareAdapterReason(adapter as AdapterDescription);
  if (software && !allowSoftware) throw unavailable('webgpu', `${software}, slower than wasm; "auto" skips it (ask for it with --backend webgpu / useBackend('webgpu')).`);
  if (!registeredByApp('webgpu')) requirePackage('webgpu', '@tensorflow/tfjs-backend-webgpu');
}

/** True when the app already imported the backend package (it registers its factory on import): used as it is. */
function registeredByApp(name: BackendName): boolean {
  return tf.findBackendFactory(name) !== null;
}

function loadBackendPackages(name: BackendName, auto: boolean): Promise<void> | void {
  if (registeredByApp(name) && name !== 'webgpu') return;
  switch (name) {
    case 'wasm':
    case 'cpu':
      requirePackage(name, PACKAGES[name][0]);
      return;
    case 'webgpu':
      return prepareWebGpu(!auto);
    case 'tensorflow': {
      try {
        requirePackage(name, '@tensorflow/tfjs-node-gpu');
      } catch {
        requirePackage(name, '@tensorflow/tfjs-node');
      }
      return;
    }
  }
}

/** tfjs-backend-wasm only logs when it cannot fetch its .wasm binaries; say where they must be. */
function initFailure(name: BackendName, active: string): SwapformerError {
  const hint = name === 'wasm' ? "\n  In a page, serve the tfjs-backend-wasm*.wasm files and call setWasmPaths('<their folder>/') from @tensorflow/tfjs-backend-wasm first." : '';
  return unavailable(name, `tfjs could not initialise it (active backend is "${active}").${hint}`);
}

async function activate(name: BackendName, auto = false): Promise<void> {
  // the user's process keeps its own error handling (see withoutAddedProcessHandlers)
  const ok = await withoutAddedProcessHandlers(async () => {
    await loadBackendPackages(name, auto);
    // checked before tf.ready(), which would try the other registered backends and, with none, throw a message naming none
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return true;
  });
  if (!ok) throw initFailure(name, 'none');
  if (tf.getBackend() !== name) throw initFailure(name, tf.getBackend());
  if (name === 'webgpu') watchWebGpuErrors();
}

/**
 * Selects the tfjs backend. Never falls back silently: an explicit name either runs or throws
 * an error naming the package to install; `auto` tries tensorflow → webgpu → wasm → cpu and
 * reports what it skipped and why.
 *
 * @example const report = await useBackend('auto'); console.log(report.active);
 */
export async function useBackend(request: BackendRequest = 'wasm'): Promise<BackendReport> {
  if (request !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(request)) {
    throw new SwapformerError('invalid-config', `unknown backend "${String(request)}".\n  Valid backends: ${[...BACKEND_NAMES, 'auto'].join(', ')}.`);
  }
  if (request !== 'auto') {
    if (tf.getBackend() !== request || tf.findBackend(request) === null) await activate(request);
    return { requested: request, active: request, skipped: [] };
  }
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      await activate(name, true);
      return { requested: 'auto', active: name, skipped };
    } catch (error) {
      skipped.push({ name, reason: (error as Error).message.split('\n')[0] });
    }
  }
  throw new SwapformerError('backend-unavailable', `no backend could be started:\n${skipped.map((s) => `  ${s.name}: ${s.reason}`).join('\n')}`);
}

/** The npm packages each backend needs (for messages and `swapformer list`). */
export function backendPackages(name: BackendName): readonly string[] {
  return PACKAGES[name];
}
