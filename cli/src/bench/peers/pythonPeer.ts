import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchInputs, Contender } from '../benchTypes';
import { PYTHON_PEER_SCRIPT } from './pythonPeerScript';

type Reply = Record<string, unknown> & { error?: string };

/** The variants the Python side implements (see pythonPeerScript.ts). */
export type PythonVariant = 'numpy' | 'torch-naive' | 'torch-sdpa' | 'torch-bf16-flash';

/**
 * One long-lived `python3` child shared by the Python peers: inputs are written once per sweep
 * point as raw float32 files, requests and replies are JSON lines.
 */
export class PythonPeerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Array<(reply: Reply) => void> = [];
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-bench-'));
  private loaded: BenchInputs | null = null;
  private stderr = '';

  private constructor(python: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(python, ['-u', '-c', PYTHON_PEER_SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.pending.shift()?.(JSON.parse(line) as Reply));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.child.on('exit', (code) => {
      for (const resolve of this.pending.splice(0)) resolve({ error: `python exited with code ${code}: ${this.stderr.trim().split('\n').pop() ?? ''}` });
    });
  }

  /**
   * Starts the child, or returns the reason it cannot run (no python3, no numpy, no torch).
   * `threads` sets OPENBLAS/OMP/MKL thread counts before numpy loads.
   */
  static start(options: { readonly python?: string; readonly threads: number; readonly torch?: boolean }): PythonPeerProcess | string {
    const python = options.python ?? 'python3';
    const probe = spawnSync(python, ['-c', options.torch ? 'import numpy, torch' : 'import numpy'], { encoding: 'utf8' });
    if (probe.error) return `${python} not found (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message})`;
    if (probe.status !== 0) return `${python} cannot import ${options.torch ? 'numpy and torch' : 'numpy'}: ${probe.stderr.trim().split('\n').pop()}`;
    const t = String(options.threads);
    const env = { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, SWAPFORMER_PEER_TORCH: options.torch ? '1' : '0' };
    return new PythonPeerProcess(python, env);
  }

  request(message: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  async load(inputs: BenchInputs): Promise<void> {
    if (this.loaded === inputs) return;
    for (const name of ['q', 'k', 'v'] as const) {
      const a = inputs.arrays[name];
      fs.writeFileSync(path.join(this.dir, `${name}.f32`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    const reply = await this.request({ op: 'load', dir: this.dir, shape: [1, inputs.heads, inputs.n, inputs.dim] });
    if (reply.error) throw new Error(`python peer: ${reply.error}`);
    this.loaded = inputs;
  }

  async output(variant: PythonVariant): Promise<Float32Array | null> {
    const file = path.join(this.dir, `out-${variant}.f32`);
    const reply = await this.request({ op: 'output', variant, path: file });
    if (reply.error) return null;
    const bytes = fs.readFileSync(file);
    fs.rmSync(file, { force: true });
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.child.kill();
          resolve();
        }, 5000);
        this.child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const DESCRIPTIONS: Record<PythonVariant, string> = {
  numpy: 'batched float32 q @ kᵀ, in-place softmax, @ v',
  'torch-naive': 'fp32 matmul → softmax → matmul (TF32 off)',
  'torch-sdpa': 'fp32 F.scaled_dot_product_attention (TF32 off)',
  'torch-bf16-flash': 'bf16 F.scaled_dot_product_attention, flash backend',
};

/**
 * A peer computed by the shared Python child. `info` is the child's own report (versions,
 * thread variables, device), shown in the detail column.
 *
 * @example const numpy = pythonPeer(proc, 'numpy', 16384, info);
 */
export function pythonPeer(proc: PythonPeerProcess, variant: PythonVariant, maxN: number, info: Record<string, unknown>): Contender {
  const versions = variant === 'numpy'
    ? `numpy ${String(info.numpy)} (${String(info.blas)}, OPENBLAS_NUM_THREADS=${String(info.OPENBLAS_NUM_THREADS)})`
    : `torch ${String(info.torch)} on ${String(info.device)}`;
  return {
    name: variant,
    kind: 'peer',
    detail: `python ${String(info.python)}, ${versions}: ${DESCRIPTIONS[variant]}`,
    approximatesSoftmax: true,
    maxN,
    async prepare(inputs) {
      await proc.load(inputs);
      return {
        async run() {
          const reply = await proc.request({ op: 'run', variant });
          if (reply.error) throw new Error(reply.error);
          return reply.cpuMs === undefined ? { ms: Number(reply.ms) } : { ms: Number(reply.ms), cpuMs: Number(reply.cpuMs) };
        },
        output: () => proc.output(variant),
        dispose: () => undefined,
      };
    },
    dispose: () => undefined,
  };
}
