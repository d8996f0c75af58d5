import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fastMatMulRegistration } from '@swapformer/kernels';
import { createProgram } from '../../src/cli';
import type { BenchReport } from '../../src/bench/benchTypes';

async function runCli(args: string[]): Promise<{ stdout: string; code: number | undefined }> {
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  let stdout = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    await createProgram().parseAsync(['node', 'swapformer', ...args]);
    return { stdout, code: process.exitCode as number | undefined };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
    process.exitCode = before;
  }
}

describe('swapformer bench', () => {
  after(() => fastMatMulRegistration()?.undo()); // an in-process run leaves our GEMM registered; later tests get tfjs's kernels back
  it('should time exact and the plain tfjs peer, and write md, svg and json atomically', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cli-'));
    try {
      const { stdout, code } = await runCli(['bench', '--n', '32,64', '--operators', 'exact', '--peers', 'tfjs-plain', '--repeats', '2', '--heads', '2', '--dim', '8', '--json', '--write-docs', dir]);
      expect(code).to.equal(undefined);
      const report = JSON.parse(stdout) as BenchReport;
      expect(report.contenders.map((c) => c.name)).to.deep.equal(['exact', 'tfjs-plain']);
      expect(report.cells.filter((c) => c.medianMs !== null)).to.have.length(4);
      expect(report.cells.find((c) => c.contender === 'tfjs-plain' && c.n === 64)!.relativeError).to.be.below(1e-5);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['wasm.json', 'wasm.md', 'wasm.svg']);
      expect(fs.readFileSync(path.join(dir, 'wasm.md'), 'utf8')).to.include('### n = 64');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should refuse an unknown peer, listing the valid ones', async () => {
    const errors: string[] = [];
    const errWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (errors.push(s), true)) as typeof process.stderr.write;
    const before = process.exitCode;
    try {
      await createProgram().parseAsync(['node', 'swapformer', 'bench', '--n', '32', '--peers', 'pandas']);
      expect(process.exitCode).to.equal(1);
    } finally {
      process.stderr.write = errWrite;
      process.exitCode = before;
    }
    expect(errors.join('')).to.include('unknown peer "pandas".\n  Valid peers: tfjs-plain, numpy, onnxruntime, torch-naive, torch-sdpa, torch-bf16-flash, none.');
  });
});
