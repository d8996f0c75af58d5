import { createConsoleLogger, createSwapformerContainer, defaultKernelThreads, useBackend, type BackendReport, type BackendRequest, type KernelSettings } from '@swapformer/core';
import { applyMatMulChoice, type MatMulChoice } from './matMulChoice';
import { registerInstalledPlugins, type InstalledPluginsReport, createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { kernelSettingsFromEnvironment } from './kernelSettingsFromEnvironment';

/**
 * What every CLI command starts from: a container, a registry with the installed plugins. The
 * container's kernel settings come from the environment (read here, once per command), then
 * from the command's own flags (`kernels`, e.g. bench's --threads), which win.
 */
export interface CliSession {
  readonly registry: OperatorRegistry;
  readonly installed: InstalledPluginsReport;
}

/**
 * The plugins the CLI sees: those installed next to the CLI itself (its own node_modules chain,
 * so `swapformer list` from any folder lists what this installation has), then the project in
 * the working directory, for plugins installed there beside a global or npx CLI.
 */
export function pluginLocations(cwd: string = process.cwd()): string[] {
  return [__dirname, cwd];
}

export function createCliSession(options: { seed?: number; cwd?: string; warnRefused?: boolean; kernels?: Partial<KernelSettings> } = {}): CliSession {
  const kernels = { ...kernelSettingsFromEnvironment(process.env), ...options.kernels };
  const container = createSwapformerContainer({ seed: options.seed ?? 0, logger: createConsoleLogger('warn'), kernels });
  const registry = createOperatorRegistry(container);
  const installed = registerInstalledPlugins(registry, { from: pluginLocations(options.cwd) });
  if (options.warnRefused !== false) for (const r of installed.refused) registry.services.logger.warn(`plugin package ${r.package.packageName} refused: ${r.reason}`);
  return { registry, installed };
}

/**
 * Starts the requested backend, puts its matrix products on `matmul` (wasm only; default our
 * GEMM) and says on stderr what runs.
 */
export async function startBackend(request: BackendRequest, quiet = false, matmul: MatMulChoice = 'swapformer', threads = kernelSettingsFromEnvironment(process.env).threads ?? defaultKernelThreads()): Promise<BackendReport> {
  const report = await useBackend(request);
  const products = applyMatMulChoice(report.active, matmul, threads);
  if (!quiet) {
    const skipped = report.skipped.length ? ` (skipped: ${report.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
    process.stderr.write(`[swapformer] backend: ${report.active}${request === 'auto' ? ' (auto)' : ''}${skipped}${products ? `, ${products}` : ''}\n`);
  }
  return report;
}
