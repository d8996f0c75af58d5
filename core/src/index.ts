export { CORE_API_VERSION, assertApiCompatible } from './apiVersion';
export { SwapformerError } from './errors/SwapformerError';
export type { SwapformerErrorKind, SwapformerErrorContext } from './errors/SwapformerError';

export type {
  AttentionContext,
  AttentionDecoder,
  AttentionOperator,
  DecodingState,
  DecodingStep,
  OperatorGeometry,
  OperatorParameter,
} from './operator/AttentionOperator';
export { expandKeyValueHeads, repeatKeyValueHeads } from './operator/groupedKeyValues';
export type { AttentionPlugin, OptionsSchema } from './plugin/AttentionPlugin';
export type { CausalSupport, DecodingSupport, OperatorCapabilities, PluginMeta } from './plugin/OperatorCapabilities';
export { unmetRequirements } from './plugin/operatorRequirements';
export type { OperatorRequirements } from './plugin/operatorRequirements';
export { validatePlugin, PLUGIN_NAME_PATTERN } from './plugin/validatePlugin';
export { operatorCapabilities } from './plugin/capabilitiesForOptions';
export { resolveOptions } from './plugin/resolveOptions';
export type { OptionsFromSchema, OptionsInputFromSchema } from './plugin/optionsFromSchema';
export { instantiateOperator } from './plugin/instantiateOperator';

export { createSwapformerHooks } from './hooks/SwapformerHooks';
export type {
  AttentionCallInfo,
  AttentionInputs,
  FallbackEvent,
  ModelBuiltEvent,
  OperatorResolvedEvent,
  PluginRegisteredEvent,
  SwapformerHooks,
} from './hooks/SwapformerHooks';
export { runAttention } from './hooks/runAttention';
export type { AttentionCallSite } from './hooks/runAttention';
export { createProfiler } from './hooks/createProfiler';
export type { AttentionProfiler, ProfileRow, ProfilerOptions } from './hooks/createProfiler';

export { SERVICE_IDS } from './container/serviceIds';
export { createSwapformerContainer, resolveOperatorServices } from './container/createSwapformerContainer';
export type { ContainerOptions } from './container/createSwapformerContainer';
// the inversify container type, so packages above core bind into it without depending on inversify themselves
export type { Container as SwapformerContainer } from 'inversify';
export type { OperatorServices } from './container/OperatorServices';
export { createKernelContext, defaultKernelThreads } from './container/KernelSettings';
export type { KernelContext, KernelResources, KernelSettings } from './container/KernelSettings';
export { createConsoleLogger, createMemoryLogger } from './container/Logger';
export type { Logger, LogLevel } from './container/Logger';

export { BACKEND_NAMES } from './backend/BackendName';
export type { BackendName, BackendRequest } from './backend/BackendName';
export { useBackend, backendPackages } from './backend/useBackend';
export type { BackendReport } from './backend/useBackend';
export { createBackendService } from './backend/BackendService';
export { canReadSync, prefetchValues, requireSyncReads } from './backend/syncReads';
export { throwIfWebGpuFailed, watchWebGpuErrors } from './backend/webGpuErrors';
export { activeWebGpuDevice } from './backend/webGpuDevice';
export type { WebGpuDeviceView } from './backend/webGpuDevice';
export type { BackendService } from './backend/BackendService';

export { createSeededRandom, deriveSeed } from './rng/seededRandom';
export type { SeededRandom } from './rng/seededRandom';
export { createRngService } from './rng/RngService';
export type { RngService } from './rng/RngService';

export { validateAttentionInputs, assertFinite, assertMaskValues } from './validation/validateAttentionInputs';


/**
 * TensorFlow.js core, the very copy this package computes with: tensors made through it belong
 * to the same engine as the library's, whatever other tfjs-core a project has installed.
 */
export * as tf from '@tensorflow/tfjs-core';
