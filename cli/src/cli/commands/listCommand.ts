import type { Command } from 'commander';
import type { OperatorCapabilities } from '@swapformer/core';
import type { PluginRecord } from '@swapformer/registry';
import { createCliSession } from '../createCliSession';
import { formatTable } from '../formatTable';
import { describeOperatorOptions, type OperatorOptionInfo } from '../operatorOptions';
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

function operatorRow(r: PluginRecord) {
  return {
    name: r.meta.name,
    package: r.packageName ?? null,
    version: r.meta.version,
    apiVersion: r.meta.apiVersion,
    description: r.meta.description,
    capabilities: r.capabilities,
    options: describeOperatorOptions(r.optionsSchema),
  };
}

const shown = (value: unknown): string => (value === undefined ? '(required)' : typeof value === 'string' ? value : JSON.stringify(value));

function optionsTable(options: readonly OperatorOptionInfo[]): string {
  if (options.length === 0) return '(no options)';
  return formatTable(
    ['option', 'type', 'default', 'range', 'description'],
    options.map((o) => [o.name, o.type, shown(o.default), o.range, o.description]),
  );
}

/** One operator in full: what it is, where it comes from, what it supports, its options. */
function operatorDetails(row: ReturnType<typeof operatorRow>, reference: string | undefined): string {
  const c = row.capabilities;
  const capabilities: Array<[string, string]> = [
    ['causal', c.causal],
    ['key-padding mask', c.keyPaddingMask ? 'yes' : 'no'],
    ['decoding', c.decoding],
    ['trainable parameters', c.trainableParameters ? 'yes' : 'no'],
    ['randomness', c.randomness],
    ['tested backends', c.testedBackends.join(', ')],
    ['drop-in for pretrained', c.dropInForPretrained ? 'yes' : 'no'],
    ['projections', c.projections],
    ['mixes heads', c.mixesHeads ? 'yes' : 'no'],
    ['cross-attention', c.crossAttention ? 'yes' : 'no'],
  ];
  return [
    `${row.name} ${row.version} (${row.package ?? 'registered in code'}, operator API ${row.apiVersion})`,
    row.description,
    reference ? `reference: ${reference}` : undefined,
    '',
    'capabilities:',
    ...capabilities.map(([k, v]) => `  ${k.padEnd(24)}${v}`),
    '',
    'options:',
    optionsTable(row.options),
    '',
    `select it: {"attention": {"name": "${row.name}", "options": {…}}}`,
  ]
    .filter((line) => line !== undefined)
    .join('\n');
}

export function registerListCommand(program: Command, run: CommandRunner): void {
  program
    .command('list [name]')
    .description('list installed attention operators (name, package, version, apiVersion, capabilities); with a name, that operator\'s capabilities and options')
    .option('--json', 'print JSON (each operator with its options: type, default, description, range)')
    .action((name: string | undefined, opts: { json?: boolean }) =>
      run(async () => {
        const { registry, installed } = createCliSession({ warnRefused: false });
        if (name !== undefined) {
          // an unknown name throws the registry's error: the installed names and a did-you-mean
          const record = registry.get(name);
          const row = operatorRow(record);
          process.stdout.write(opts.json ? `${JSON.stringify(row, null, 2)}\n` : `${operatorDetails(row, record.meta.reference)}\n`);
          return;
        }
        const rows = registry.list().map(operatorRow);
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
        if (rows.length > 0) process.stdout.write(`\nswapformer list <name> shows one operator's capabilities and options.\n`);
      }),
    );
}
