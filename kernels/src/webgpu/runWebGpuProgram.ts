import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * A compute program for tfjs-webgpu: the WGSL body of `fn main(index : i32)`, which tfjs-webgpu
 * wraps with one read-only storage binding per name in `variableNames` (in input order), the
 * `result` output binding, a `uniforms` struct (its own fields plus `uniforms`' declarations)
 * and the entry point. Built-ins `workgroupId`, `localIndex` and `numWorkgroups` are in scope.
 */
export interface WebGpuProgramSpec {
  /** Names the inputs have in the WGSL (`Q`, `K`, …), one per input tensor, in order. */
  readonly variableNames: readonly string[];
  readonly outputShape: readonly number[];
  /** Identifies the compiled pipeline: every value the WGSL text depends on must be in it. */
  readonly shaderKey: string;
  /** Workgroups to launch along x, y, z. */
  readonly dispatch: readonly [number, number, number];
  readonly workgroupSize: readonly [number, number, number];
  /**
   * WGSL declarations of the program's own uniforms, e.g. `'n : i32, heads : i32,'`. The shader
   * must read at least one uniform: tfjs always binds the uniform buffer, and a shader that never
   * reads it has no such binding in its layout (Dawn then rejects the bind group).
   */
  readonly uniforms?: string;
  /** Components per input element (1 or 4; default 1): 4 binds that input as `array<vec4<f32>>`, its length a multiple of 4. */
  readonly variableComponents?: readonly number[];
  readonly getUserCode: () => string;
}

/**
 * WGSL expression for the workgroup's linear index: tfjs-webgpu spreads a dispatch longer than the
 * device's per-dimension limit over y and z, so programs must not read `workgroupId.x` alone.
 */
export const WGSL_WORKGROUP_INDEX = 'i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x)';

/** One uniform value per declared field, in declaration order. */
export interface WebGpuUniform {
  readonly type: 'int32' | 'float32';
  readonly data: number[];
}

/** The value of an `i32` uniform field. @example int32Uniform(n) */
export function int32Uniform(value: number): WebGpuUniform {
  return { type: 'int32', data: [value] };
}

/** The value of an `f32` uniform field. @example float32Uniform(Math.sqrt(scale)) */
export function float32Uniform(value: number): WebGpuUniform {
  return { type: 'float32', data: [value] };
}

interface TfjsWebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  variableComponents?: number[];
  getUserCode(): string;
}

interface WebGpuBackendLike {
  runWebGPUProgram(program: TfjsWebGpuProgram, inputs: TensorInfo[], dtype: 'float32', uniforms: WebGpuUniform[]): TensorInfo;
}

/**
 * Runs one float32 compute program on the active webgpu backend (one dispatch) and returns its
 * output as a tensor the caller owns. Inputs must be float32. Programs have no gradient: callers
 * take this path only when no gradient tape is recording.
 *
 * @example const y = runWebGpuProgram(spec, [x], [int32Uniform(n)]);
 */
export function runWebGpuProgram(spec: WebGpuProgramSpec, inputs: readonly Tensor[], uniforms: readonly WebGpuUniform[] = []): Tensor {
  if (inputs.length !== spec.variableNames.length) {
    throw new Error(`runWebGpuProgram(${spec.shaderKey}): ${inputs.length} inputs for ${spec.variableNames.length} variables (${spec.variableNames.join(', ')})`);
  }
  for (const [i, input] of inputs.entries()) {
    if (input.dtype !== 'float32') throw new Error(`runWebGpuProgram(${spec.shaderKey}): input ${spec.variableNames[i]} is ${input.dtype}, programs read float32`);
  }
  if (tf.getBackend() !== 'webgpu') throw new Error(`runWebGpuProgram(${spec.shaderKey}): needs the webgpu backend, the active one is "${tf.getBackend()}"`);
  const program: TfjsWebGpuProgram = {
    variableNames: [...spec.variableNames],
    outputShape: [...spec.outputShape],
    shaderKey: spec.shaderKey,
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: [...spec.dispatch],
    workgroupSize: [...spec.workgroupSize],
    uniforms: spec.uniforms,
    variableComponents: spec.variableComponents ? [...spec.variableComponents] : undefined,
    getUserCode: spec.getUserCode,
  };
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(program, [...inputs], 'float32', uniforms.map((u) => ({ type: u.type, data: [...u.data] })));
  return tf.engine().makeTensorFromTensorInfo(info);
}
