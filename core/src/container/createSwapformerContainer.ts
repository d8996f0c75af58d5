import { Container } from 'inversify';
import { createBackendService, type BackendService } from '../backend/BackendService';
import { createSwapformerHooks, type SwapformerHooks } from '../hooks/SwapformerHooks';
import { createRngService, type RngService } from '../rng/RngService';
import { createKernelContext, type KernelContext, type KernelSettings } from './KernelSettings';
import { createConsoleLogger, type Logger } from './Logger';
import type { OperatorServices } from './OperatorServices';
import { SERVICE_IDS } from './serviceIds';

export interface ContainerOptions {
  /** Base seed of the RNG service (default 0). */
  readonly seed?: number;
  readonly logger?: Logger;
  readonly hooks?: SwapformerHooks;
  readonly backend?: BackendService;
  /** Kernel settings (threads, WebGPU programs); each omitted one takes its default. The CLI fills them from the environment once. */
  readonly kernels?: Partial<KernelSettings>;
}

/**
 * A fresh inversify container with the core services bound (backend, RNG, logger, hooks, kernel
 * settings with their resources). The registry package binds itself under `SERVICE_IDS.Registry`.
 * No module-level singletons: two containers never share hooks, registries, settings or kernel pools.
 *
 * @example const container = createSwapformerContainer({ seed: 1, kernels: { threads: 1 } });
 */
export function createSwapformerContainer(options: ContainerOptions = {}): Container {
  const container = new Container();
  container.bind(SERVICE_IDS.Backend).toConstantValue(options.backend ?? createBackendService());
  container.bind(SERVICE_IDS.Rng).toConstantValue(createRngService(options.seed ?? 0));
  container.bind(SERVICE_IDS.Logger).toConstantValue(options.logger ?? createConsoleLogger());
  container.bind(SERVICE_IDS.Hooks).toConstantValue(options.hooks ?? createSwapformerHooks());
  container.bind(SERVICE_IDS.Kernels).toConstantValue(createKernelContext(options.kernels));
  return container;
}

/** The services handed to `plugin.create`. */
export function resolveOperatorServices(container: Container): OperatorServices {
  return {
    backend: container.get<BackendService>(SERVICE_IDS.Backend),
    rng: container.get<RngService>(SERVICE_IDS.Rng),
    logger: container.get<Logger>(SERVICE_IDS.Logger),
    hooks: container.get<SwapformerHooks>(SERVICE_IDS.Hooks),
    kernels: container.get<KernelContext>(SERVICE_IDS.Kernels),
  };
}
