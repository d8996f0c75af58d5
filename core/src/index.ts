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
export type { AttentionPlugin, CausalSupport, DecodingSupport, OperatorCapabilities, OptionsSchema, PluginMeta } from './plugin/AttentionPlugin';
export { unmetRequirements } from './plugin/operatorRequirements';
export type { OperatorRequirements } from './plugin/operatorRequirements';
export { validatePlugin, PLUGIN_NAME_PATTERN } from './plugin/validatePlugin';
export { resolveOptions } from './plugin/resolveOptions';
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
export type { OperatorServices } from './container/OperatorServices';
export { createConsoleLogger, createMemoryLogger } from './container/Logger';
export type { Logger, LogLevel } from './container/Logger';

export { BACKEND_NAMES } from './backend/BackendName';
export type { BackendName, BackendRequest } from './backend/BackendName';
export { useBackend, backendPackages } from './backend/useBackend';
export type { BackendReport } from './backend/useBackend';
export { createBackendService } from './backend/BackendService';
export { canReadSync, prefetchValues, requireSyncReads } from './backend/syncReads';
export { throwIfWebGpuFailed, watchWebGpuErrors } from './backend/webGpuErrors';
export type { BackendService } from './backend/BackendService';

export { createSeededRandom, deriveSeed } from './rng/seededRandom';
export type { SeededRandom } from './rng/seededRandom';
export { createRngService } from './rng/RngService';
export type { RngService } from './rng/RngService';

export { validateAttentionInputs, assertFinite, assertMaskValues } from './validation/validateAttentionInputs';
export { softmaxAttention, denseSoftmaxAttention, chunkedSoftmaxAttention, DEFAULT_CHUNK_THRESHOLD } from './kernels/softmaxAttention';
export type { SoftmaxAttentionOptions } from './kernels/softmaxAttention';
export { fusedSoftmaxAttention, fusedSoftmaxAttentionArrays, fusedSoftmaxAttentionWithStats, fusedAttentionSupported, fusedKernelApplies, fusedAttentionInfo, fusedAttentionPeakBytes, resetFusedAttentionPeakBytes, setAttentionThreads, attentionThreads, preferredKernelThreads } from './kernels/wasm/fusedSoftmaxAttention';
export type { FusedAttentionDims, FusedAttentionOptions, FusedAttentionWithStats } from './kernels/wasm/fusedSoftmaxAttention';
// Hand-written WebAssembly SIMD kernels (the fused attention kernel, and plugins' own kernels)
export { assembleModule, FunctionBody, F32, I32, V128 } from './kernels/wasm/wasmAssembler';
export type { FunctionSpec, ValType } from './kernels/wasm/wasmAssembler';
export { emitForLoop, simdExp } from './kernels/wasm/simdEmitters';
export type { SimdExp } from './kernels/wasm/simdEmitters';
export { webAssemblyApi } from './kernels/wasm/webAssemblyApi';
export { createKernelModule, createKernelPool } from './kernels/wasm/kernelThreads';
export type { KernelJob, KernelModule, KernelPool } from './kernels/wasm/kernelThreads';
export type { WasmApi, WasmMemory, WasmModule } from './kernels/wasm/webAssemblyApi';
export { fusedWebGpuAttention, setWebGpuFusedAttention, webGpuFusedAttentionEnabled } from './kernels/webgpu/fusedWebGpuAttention';
export { float32Uniform, int32Uniform, runWebGpuProgram, setWebGpuPrograms, webGpuProgramsEnabled, WGSL_WORKGROUP_INDEX } from './kernels/webgpu/runWebGpuProgram';
export type { WebGpuProgramSpec, WebGpuUniform } from './kernels/webgpu/runWebGpuProgram';
export { MASKED_LOGIT } from './kernels/attentionBias';
export { splitSlices } from './kernels/splitSlices';
export { gatherRows } from './kernels/gatherRows';
