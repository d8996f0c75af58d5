import { createConsoleLogger, createSwapformerContainer, useBackend, type BackendReport, type BackendRequest } from '@swapformer/core';
import { applyMatMulChoice, type MatMulChoice } from './matMulChoice';
import { registerInstalledPlugins, type InstalledPluginsReport, createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';

/** What every CLI command starts from: a container, a registry with the installed plugins. */
export interface CliSession {
  readonly registry: OperatorRegistry;
  readonly installed: InstalledPluginsReport;
}

export function createCliSession(options: { seed?: number; cwd?: string; warnRefused?: boolean } = {}): CliSession {
  const container = createSwapformerContainer({ seed: options.seed ?? 0, logger: createConsoleLogger('warn') });
  const registry = createOperatorRegistry(container);
  const installed = registerInstalledPlugins(registry, options.cwd ?? process.cwd());
  if (options.warnRefused !== false) for (const r of installed.refused) registry.services.logger.warn(`plugin package ${r.package.packageName} refused: ${r.reason}`);
  return { registry, installed };
}

/**
 * Starts the requested backend, puts its matrix products on `matmul` (wasm only; default our
 * GEMM) and says on stderr what runs.
 */
export async function startBackend(request: BackendRequest, quiet = false, matmul: MatMulChoice = 'swapformer'): Promise<BackendReport> {
  const report = await useBackend(request);
  const products = applyMatMulChoice(report.active, matmul);
  if (!quiet) {
    const skipped = report.skipped.length ? ` (skipped: ${report.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
    process.stderr.write(`[swapformer] backend: ${report.active}${request === 'auto' ? ' (auto)' : ''}${skipped}${products ? `, ${products}` : ''}\n`);
  }
  return report;
}
