import type { Command } from 'commander';
import type { OperatorCapabilities } from '@swapformer/core';
import { createCliSession } from '../createCliSession';
import { formatTable } from '../formatTable';
import type { CommandRunner } from '../CommandRunner';
import { allowedValues, describeOptions } from '../describeOptions';

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
    .command('list [name]')
    .description('list installed attention operators (name, package, version, apiVersion, capabilities); with a name, that operator and its options (type, default, allowed values, description)')
    .option('--json', 'print JSON (every operator with its options)')
    .action((name: string | undefined, opts: { json?: boolean }) =>
      run(async () => {
        const { registry, installed } = createCliSession({ warnRefused: false });
        const records = name === undefined ? registry.list() : [registry.get(name)]; // an unknown name fails listing the installed ones
        const rows = records.map((r) => ({
          name: r.meta.name,
          package: r.packageName ?? null,
          version: r.meta.version,
          apiVersion: r.meta.apiVersion,
          description: r.meta.description,
          capabilities: r.capabilities,
          options: describeOptions(r.optionsSchema),
        }));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ operators: rows, refused: installed.refused.map((x) => ({ package: x.package.packageName, reason: x.reason })) }, null, 2)}\n`);
          return;
        }
        if (name !== undefined) {
          const [r] = rows;
          process.stdout.write(`${r.name} ${r.version} (${r.package ?? 'registered in code'}, operator API ${r.apiVersion})\n${r.description}\ncapabilities: ${capabilitySummary(r.capabilities)}\n\n`);
          const show = (v: unknown) => (v === undefined ? '(required)' : JSON.stringify(v));
          process.stdout.write(`${formatTable(['option', 'type', 'default', 'allowed', 'description'], r.options.map((o) => [o.name, o.type, show(o.default), allowedValues(o), o.description]))}\n`);
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
