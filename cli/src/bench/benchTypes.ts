import type { Tensor4D } from '@tensorflow/tfjs-core';

/** q, k, v of one sweep point, as tensors and as the float32 arrays peers outside tfjs read. */
export interface BenchInputs {
  readonly n: number;
  readonly heads: number;
  readonly dim: number;
  readonly q: Tensor4D; // [1, h, n, d]
  readonly k: Tensor4D; // [1, h, n, d]
  readonly v: Tensor4D; // [1, h, n, d]
  /** The same values as `q`, `k`, `v` (row-major `[1, h, n, d]`). */
  readonly arrays: { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array };
}

/** Times of one call. */
export interface RunTime {
  readonly ms: number;
  /** CPU ms of every thread of the process (worker threads, onnxruntime's pool, OpenBLAS) — little affected by other load. */
  readonly cpuMs?: number;
}

/** One contender prepared for one sweep point. */
export interface PreparedRun {
  /**
   * One call, forced to completion; resolves to its wall time in ms and, where it can be
   * measured, the CPU time of all threads of the process that ran it. In-process contenders time
   * themselves around the call; a peer in a child process reports the times it measured there
   * (the pipe is not timed).
   */
  run(): Promise<RunTime>;
  /** Output of the last call, `[1, h, n, d]` row-major, for the error column; null if unavailable. */
  output(): Promise<Float32Array | null>;
  /**
   * Like `run`, but also returns the peak bytes of tfjs tensors above what existed before the
   * call (tf.profile) and the time per tfjs kernel. Used for the untimed warm-up.
   */
  profile?(): Promise<{ readonly peakBytes: number; readonly kernelMs: Readonly<Record<string, number>> }>;
  dispose(): Promise<void> | void;
}

/** Something the harness times: one of our operators, or a peer implementation of exact attention. */
export interface Contender {
  /**
   * Row label: an operator name (`exact`, `performer`), a peer (`tfjs-plain`, `numpy`, `onnxruntime`,
   * `torch-sdpa`), or a variant of an operator (`tost, tfjs ops`: its webgpu path turned off).
   */
  readonly name: string;
  /** `variant` rows take no part in the targets and get no "vs" column. */
  readonly kind: 'operator' | 'peer' | 'variant';
  /** One line: package and version, options, thread count. */
  readonly detail: string;
  /** True when the output approximates softmax attention (so an error vs exact means something). */
  readonly approximatesSoftmax: boolean;
  /** Largest n it is run at (time or memory limit); larger points show '–'. */
  readonly maxN: number;
  /** Why it stops at maxN, for the note of the skipped points. */
  readonly limitReason?: string;
  prepare(inputs: BenchInputs): Promise<PreparedRun>;
  dispose(): Promise<void> | void;
}

/** Measurements of one contender at one n. */
export interface BenchCell {
  readonly contender: string;
  readonly n: number;
  /** Sorted ascending. Empty when skipped. */
  readonly timesMs: readonly number[];
  readonly medianMs: number | null;
  readonly minMs: number | null;
  readonly maxMs: number | null;
  /** Median CPU time of the same calls (all threads of the process); null where not measured (GPU rows). */
  readonly cpuMedianMs: number | null;
  /** Peak bytes during one call: tfjs tensors plus the fused CPU kernel's memory (null for peers outside tfjs or when not profiled). */
  readonly peakBytes: number | null;
  /** ‖out − exact‖_F / ‖exact‖_F against our exact operator at the same n (exact itself: against numpy). */
  readonly relativeError: number | null;
  /** Milliseconds per tfjs kernel name in the profiled warm-up (top entries only). */
  readonly kernelMs: Readonly<Record<string, number>> | null;
  /** Why there is no time: over maxN, failed (message), … */
  readonly note: string;
}

/** The fitted exponent of time ∝ n^p over the largest measured points of a contender. */
export interface ScalingFit {
  readonly contender: string;
  readonly exponent: number | null;
  /** The n values the fit used. */
  readonly fromN: number | null;
  readonly toN: number | null;
  readonly points: number;
  /** Which times were fitted: CPU time (robust to other load on the machine) where every point has it, else wall time. */
  readonly basis: 'cpu' | 'wall';
}

export interface BenchEnvironment {
  readonly backend: string;
  readonly device: string;
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly tfjs: string;
  readonly platform: string;
  readonly date: string;
  /** How each row uses threads and special instructions, in words. */
  readonly notes: readonly string[];
  /** 1-minute load average when the report was made (other work on the machine slows every row). */
  readonly loadAverage: number;
}

export interface BenchReport {
  readonly environment: BenchEnvironment;
  readonly shape: { readonly batch: 1; readonly heads: number; readonly dim: number };
  readonly seed: number;
  readonly ns: readonly number[];
  readonly contenders: ReadonlyArray<{ readonly name: string; readonly kind: 'operator' | 'peer' | 'variant'; readonly detail: string; readonly maxN: number; readonly approximatesSoftmax: boolean }>;
  readonly cells: readonly BenchCell[];
  readonly scaling: readonly ScalingFit[];
  /** Contenders requested but not available (not installed, no python3, …), with the reason. */
  readonly unavailable: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
  readonly wallSeconds: number;
}
