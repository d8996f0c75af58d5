/**
 * A real npm registry for the publish-and-install tests: Verdaccio on 127.0.0.1 (free port,
 * temporary storage), proxying third-party packages to the registry npm is configured with, and
 * keeping @swapformer/* and swapformer-plugin-* local (never looked up upstream). npm runs
 * against it with its own user config, so nothing of the user's .npmrc applies.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cleanEnv, REPO_ROOT, runAsync, type ProcessResult } from '../../reliability/support/processes';

export interface LocalRegistry {
  readonly url: string;
  /** Environment for npm and installed bins: the registry, a token, no audit/fund/update checks. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** The registry npm uses here (`npm config get registry`), or why it cannot be reached. */
export function upstreamRegistry(): { url: string } | { unreachable: string } {
  const config = spawnSync('npm', ['config', 'get', 'registry'], { cwd: REPO_ROOT, encoding: 'utf8', env: cleanEnv(), timeout: 30000 });
  const url = (config.stdout ?? '').trim();
  if (config.status !== 0 || !/^https?:\/\//.test(url)) return { unreachable: `npm config get registry gave ${JSON.stringify(url)} (${config.stderr?.trim()})` };
  const ping = spawnSync('npm', ['ping', '--registry', url, '--loglevel=error'], { cwd: REPO_ROOT, encoding: 'utf8', env: cleanEnv(), timeout: 20000 });
  if (ping.status !== 0) return { unreachable: `npm cannot reach ${url} (npm ping: ${ping.error ? 'timed out' : (ping.stderr.trim().split('\n').pop() ?? `exit ${ping.status}`)})` };
  return { url };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function verdaccioConfig(root: string, upstream: string): string {
  const local = `    access: $all\n    publish: $all\n    unpublish: $all\n`;
  return [
    `storage: ${JSON.stringify(path.join(root, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(root, 'htpasswd'))}`,
    'uplinks:',
    '  upstream:',
    `    url: ${JSON.stringify(upstream)}`,
    '    timeout: 120s',
    '    maxage: 30m',
    'packages:',
    "  '@swapformer/*':",
    local,
    "  'swapformer-plugin-*':",
    local,
    "  '**':",
    '    access: $all',
    '    publish: $all',
    '    proxy: upstream',
    'server:',
    '  keepAliveTimeout: 60',
    'security:',
    '  api:',
    '    legacy: true',
    'log: { type: stdout, format: pretty, level: error }',
    '',
  ].join('\n');
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${url}-/ping`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${output()}`);
}

/** A user through the registry's own adduser API (what `npm adduser` calls); returns its token. */
async function addUser(url: string): Promise<string> {
  const name = 'swapformer-test';
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: 'test-password-1', type: 'user', roles: [], date: new Date().toISOString() }),
  });
  const body = (await response.json()) as { token?: string };
  if (!response.ok || !body.token) throw new Error(`verdaccio adduser failed: ${response.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** Starts Verdaccio under `root` (which must be empty) with `upstream` as its uplink. */
export async function startLocalRegistry(root: string, upstream: string): Promise<LocalRegistry> {
  fs.mkdirSync(path.join(root, 'storage'), { recursive: true });
  const config = path.join(root, 'config.yaml');
  fs.writeFileSync(config, verdaccioConfig(root, upstream));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const bin = path.join(REPO_ROOT, 'node_modules/verdaccio/bin/verdaccio');
  const child = spawn(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    await waitUntilUp(url, child, () => log);
    const token = await addUser(url);
    const userconfig = path.join(root, 'npmrc');
    const host = url.replace(/^https?:/, '');
    fs.writeFileSync(userconfig, `registry=${url}\n${host}:_authToken=${token}\naudit=false\nfund=false\nupdate-notifier=false\n`);
    const globalconfig = path.join(root, 'npmrc-global');
    fs.writeFileSync(globalconfig, '');
    const env = cleanEnv({ npm_config_userconfig: userconfig, npm_config_globalconfig: globalconfig, npm_config_registry: url, NO_UPDATE_NOTIFIER: '1' });
    return { url, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs a command with the registry's environment (async, so the registry in this process keeps serving). */
export function runWith(env: NodeJS.ProcessEnv, command: string, args: readonly string[], options: { cwd: string; timeoutMs?: number }): Promise<ProcessResult> {
  return runAsync(command, args, { cwd: options.cwd, env, timeoutMs: options.timeoutMs ?? 300000 });
}
