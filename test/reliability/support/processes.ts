/**
 * Child processes for the reliability and integration suites: the built CLI, node scripts and
 * npm, with a clean environment and a time limit (a hang fails the test instead of the suite).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(REPO_ROOT, 'cli/bin/swapformer.js');

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

/**
 * The parent's environment without the `npm_*` variables `npm test` sets, so that a nested
 * npm or CLI behaves as it would in a user's shell.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  return { ...env, ...extra };
}

export function run(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number; input?: string } = {}): ProcessResult {
  const started = Date.now();
  const r = spawnSync(command, args as string[], { cwd: options.cwd ?? REPO_ROOT, encoding: 'utf8', timeout: options.timeoutMs ?? 60000, env: cleanEnv(), input: options.input, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT', ms: Date.now() - started };
}

/** Runs the built `swapformer` CLI with node. */
export function runCli(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): ProcessResult {
  return run(process.execPath, [CLI, ...args], options);
}

/**
 * Runs a command without blocking this process (a server it talks to keeps serving; cases can run
 * two at a time); killed after `timeoutMs`.
 */
export function runAsync(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args as string[], { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Like runCli, asynchronously (to run a sample of cases two at a time). */
export function runCliAsync(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return runAsync(process.execPath, [CLI, ...args], options);
}

/** Runs async jobs with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A fresh directory under the repo's ignored `tmp/` (inside the workspace, so packages there
 * resolve @swapformer/core, typescript and mocha from the root node_modules). Caller removes it.
 */
export function workspaceTempDir(prefix: string): string {
  const base = path.join(REPO_ROOT, 'tmp');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${prefix}-`));
}

/** A stack-trace line such as "    at foo (/x/y.js:1:2)". */
export const STACK_LINE = /\n\s+at .+(:\d+:\d+\)?|\(node:)/;
