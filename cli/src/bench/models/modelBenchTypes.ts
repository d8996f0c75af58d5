/** Results of the model benches (runModelBench.ts), as written to docs/benchmarks/models-<backend>.json. */

/** The implementations a model-bench row compares, in the same run on the same data. */
export type ModelContender = 'tfjs' | 'swapformer' | 'numpy' | 'onnxruntime' | 'torch-eager' | 'torch-sdpa';

/** Median wall ms and CPU ms (all threads of the process that ran it) of one contender; null where it did not run. */
export interface ModelTiming {
  readonly ms: number;
  readonly cpuMs: number | null;
  readonly runs: number;
}

export interface GemmRow {
  readonly name: string;
  /** e.g. "[1024, 768] × [50257, 768]ᵀ". */
  readonly shape: string;
  readonly flops: number;
  readonly timings: Partial<Record<ModelContender, ModelTiming>>;
}

export interface ForwardRow {
  readonly name: string;
  readonly tokens: number;
  readonly batch: number;
  readonly parameters: number;
  readonly timings: Partial<Record<ModelContender, ModelTiming>>;
  /** Largest |Δ| of the last position's logits against the reference's, relative to its largest |logit| (same weights check). */
  readonly agreement: Partial<Record<ModelContender, number>>;
  /** Whose logits the agreement is measured against: numpy on the CPU (default), PyTorch eager on the GPU. */
  readonly reference?: ModelContender;
}

export interface ModelTarget {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export interface ModelBenchReport {
  readonly environment: {
    readonly backend: string;
    readonly threads: number;
    readonly node: string;
    readonly cpu: string;
    readonly cores: number;
    readonly loadAverage: readonly number[];
    readonly numpy: string;
    readonly date: string;
  };
  readonly gemm: readonly GemmRow[];
  readonly forward: readonly ForwardRow[];
  readonly generation: readonly GenerationRow[];
  /** The Llama-shaped decoder with each operator swapped into every layer (llamaCrossover.ts). */
  readonly crossover: readonly CrossoverRow[];
  readonly targets: readonly ModelTarget[];
  readonly notes: readonly string[];
}

/** Greedy generation after a prompt: timings of the whole call (prompt + every new token). */
export interface GenerationRow {
  readonly name: string;
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly timings: Partial<Record<ModelContender, ModelTiming>>;
  /** Max relative |Δ| of the logits that picked the first token, Swapformer vs onnxruntime. */
  readonly firstLogitsDifference?: number;
  /** How many of the greedy tokens agree before the first difference (all = newTokens). */
  readonly tokensAgree?: number;
}

/** One n of the Llama-shaped crossover (llamaCrossover.ts): its timing, or why it was skipped. */
export interface CrossoverCell {
  readonly n: number;
  readonly timing?: ModelTiming;
  readonly skipped?: string;
}

export interface CrossoverRow {
  /** A Swapformer operator, or a PyTorch peer ("torch-eager", "torch-sdpa": exact attention, not a drop-in). */
  readonly operator: string;
  readonly cells: readonly CrossoverCell[];
  /** Why the operator could not be built into the decoder. */
  readonly refused?: string;
}
