export { softmaxAttention, denseSoftmaxAttention, chunkedSoftmaxAttention, DEFAULT_CHUNK_THRESHOLD, scoreBlockBytes } from './softmaxAttention';
export type { SoftmaxAttentionOptions } from './softmaxAttention';
export { fusedSoftmaxAttention, fusedSoftmaxAttentionArrays, fusedSoftmaxAttentionWithStats, fusedAttentionSupported, fusedKernelApplies, fusedAttentionInfo, fusedAttentionPeakBytes, resetFusedAttentionPeakBytes, attentionThreads } from './wasm/fusedSoftmaxAttention';
export type { FusedAttentionDims, FusedAttentionOptions, FusedAttentionWithStats } from './wasm/fusedSoftmaxAttention';
// Hand-written WebAssembly SIMD kernels (the fused attention kernel, and plugins' own kernels)
export { assembleModule, FunctionBody, F32, I32, V128 } from './wasm/wasmAssembler';
export type { FunctionSpec, ValType } from './wasm/wasmAssembler';
export { emitForLoop, simdExp } from './wasm/simdEmitters';
export type { SimdExp } from './wasm/simdEmitters';
export { webAssemblyApi } from './wasm/webAssemblyApi';
export { createKernelModule, createKernelPool } from './wasm/kernelThreads';
export type { KernelJob, KernelModule, KernelPool } from './wasm/kernelThreads';
export type { WasmApi, WasmMemory, WasmModule } from './wasm/webAssemblyApi';
export { canUseWebGpuFusedAttention, fusedWebGpuAttention } from './webgpu/fusedWebGpuAttention';
export { float32Uniform, int32Uniform, runWebGpuProgram, WGSL_WORKGROUP_INDEX } from './webgpu/runWebGpuProgram';
export type { WebGpuProgramSpec, WebGpuUniform } from './webgpu/runWebGpuProgram';
export { MASKED_LOGIT } from './attentionBias';
export { splitSlices } from './splitSlices';
export { gatherRows } from './gatherRows';
// Multi-threaded WebAssembly SIMD GEMM, and its registration as tfjs-wasm's matMul kernels
export { createGemmEngine } from './gemm/gemmEngine';
export type { GemmCall, GemmEngine } from './gemm/gemmEngine';
export type { GemmActivation } from './gemm/gemmModule';
export { fastMatMulRegistration, registerFastMatMul } from './gemm/wasmMatMulKernels';
export type { FastMatMulOptions, FastMatMulRegistration } from './gemm/wasmMatMulKernels';
export { createWorkerHost } from './wasm/workerHost';
export type { KernelWorkerData, KernelWorkerHost } from './wasm/workerHost';
