import type { Command } from 'commander';
import type { OperatorCapabilities } from '@swapformer/core';
import { createCliSession } from '../createCliSession';
import { formatTable } from '../formatTable';
import type { CommandRunner } from '../CommandRunner';

function capabilitySummary(c: OperatorCapabilities): string {
  return [
    `causal:${c.causal}`,
    c.keyPaddingMask ? 'mask' : undefined,
    c.decoding !== 'none' ? c.decoding : undefined,
    c.trainableParameters ? 'trainable' : undefined,
    c.randomness,
    c.dropInForPretrained ? 'drop-in' : 'not-drop-in',
    c.projections === 'q-only' ? 'q-only' : undefined,
  ]
    .filter(Boolean)
    .join(' ');
}

export function registerListCommand(program: Command, run: CommandRunner): void {
  program
    .command('list')
    .description('list installed attention operators (name, package, version, apiVersion, capabilities)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(async () => {
        const { registry, installed } = createCliSession({ warnRefused: false });
        const rows = registry.list().map((r) => ({
          name: r.meta.name,
          package: r.packageName ?? null,
          version: r.meta.version,
          apiVersion: r.meta.apiVersion,
          description: r.meta.description,
          capabilities: r.capabilities,
        }));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ operators: rows, refused: installed.refused.map((x) => ({ package: x.package.packageName, reason: x.reason })) }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `${formatTable(
            ['name', 'package', 'version', 'api', 'capabilities'],
            rows.map((r) => [r.name, r.package ?? '(code)', r.version, r.apiVersion, capabilitySummary(r.capabilities)]),
          )}\n`,
        );
        for (const x of installed.refused) process.stdout.write(`refused: ${x.package.packageName}: ${x.reason}\n`);
      }),
    );
}
