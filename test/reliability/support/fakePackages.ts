/**
 * Fake plugin packages written into a node_modules folder, for discovery, version-skew and
 * security tests. Each one's code records that it was loaded by appending its name to a marker
 * file, so a test can tell "refused without running any code" from "loaded, then refused".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FakePackage {
  /** npm name in package.json. */
  readonly name: string;
  /** Folder under node_modules (default: the name). */
  readonly folder?: string;
  readonly keywords?: readonly string[];
  /** package.json "swapformer" field (default {plugin: 'fakePlugin'}). */
  readonly swapformer?: unknown;
  /** meta fields of the exported plugin (default name "fake", apiVersion "2.0.0"). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** The plugin's options schema (default: no options). */
  readonly optionsSchema?: unknown;
  /** Export the plugin under this name instead of the one package.json names. */
  readonly exportAs?: string;
  /** Replace index.js entirely (the marker line is still prepended). */
  readonly code?: string;
  /** Raw package.json text instead of the generated one. */
  readonly rawPackageJson?: string;
  /** Capabilities over the defaults (non-causal, no mask, not drop-in). */
  readonly capabilities?: Readonly<Record<string, unknown>>;
}

const CAPABILITIES = { causal: 'none', keyPaddingMask: false, decoding: 'none', trainableParameters: false, randomness: 'deterministic', testedBackends: ['wasm'], dropInForPretrained: false, projections: 'qkv', mixesHeads: false, crossAttention: true };

/** Writes the package and returns its folder. */
export function writeFakePackage(nodeModules: string, pkg: FakePackage, markerFile: string): string {
  const dir = path.join(nodeModules, ...(pkg.folder ?? pkg.name).split('/'));
  fs.mkdirSync(dir, { recursive: true });
  const field = pkg.swapformer === undefined ? { plugin: 'fakePlugin' } : pkg.swapformer;
  const exportName = pkg.exportAs ?? (typeof (field as { plugin?: unknown })?.plugin === 'string' ? (field as { plugin: string }).plugin : 'fakePlugin');
  const packageJson = pkg.rawPackageJson ?? JSON.stringify({ name: pkg.name, version: '1.2.3', main: 'index.js', keywords: pkg.keywords ?? ['swapformer-plugin'], swapformer: field });
  fs.writeFileSync(path.join(dir, 'package.json'), packageJson);
  const meta = { name: 'fake', version: '1.2.3', apiVersion: '2.0.0', description: 'a fake plugin', ...pkg.meta };
  const plugin = `{ meta: ${JSON.stringify(meta)}, optionsSchema: ${JSON.stringify(pkg.optionsSchema ?? { type: 'object', additionalProperties: false, properties: {} })}, capabilities: ${JSON.stringify({ ...CAPABILITIES, ...pkg.capabilities })},
    create() { return { name: ${JSON.stringify(meta.name)}, forward: (q, k, v) => v, parameters: () => [], dispose() {} }; } }`;
  const marker = `require('fs').appendFileSync(${JSON.stringify(markerFile)}, ${JSON.stringify(`${pkg.name}\n`)});\n`;
  fs.writeFileSync(path.join(dir, 'index.js'), marker + (pkg.code ?? `exports[${JSON.stringify(exportName)}] = ${plugin};\n`));
  return dir;
}

/** Names of the packages whose code ran (in load order). */
export function loadedPackages(markerFile: string): string[] {
  return fs.existsSync(markerFile) ? fs.readFileSync(markerFile, 'utf8').split('\n').filter(Boolean) : [];
}
