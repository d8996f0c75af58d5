import * as path from 'node:path';
import type { Command } from 'commander';
import { scaffoldPlugin } from '../../scaffold/scaffoldPlugin';
import type { CommandRunner } from '../CommandRunner';

export function registerCreatePluginCommand(program: Command, run: CommandRunner): void {
  program
    .command('create-plugin')
    .description('scaffold a third-party attention plugin package that builds and passes the conformance kit as generated')
    .argument('<name>', 'operator name, kebab-case (e.g. local-window); the package is swapformer-plugin-<name>')
    .option('--dir <path>', 'target directory (must not exist or be empty; default ./swapformer-plugin-<name>)')
    .option('--scope <scope>', 'npm scope for the package name (e.g. @acme)')
    .option('--description <text>', 'one-sentence description')
    .option('--json', 'print what was created as JSON (package, operator, export, directory, files)')
    .action((name: string, opts: { dir?: string; scope?: string; description?: string; json?: boolean }) =>
      run(async () => {
        const result = scaffoldPlugin(name, { directory: opts.dir, scope: opts.scope, description: opts.description });
        const shown = path.relative(process.cwd(), result.directory) || '.';
        if (opts.json) {
          const { packageName, name: operator, exportName } = result.names;
          process.stdout.write(`${JSON.stringify({ package: packageName, operator, export: exportName, directory: result.directory, files: result.files, next: `cd ${shown} && npm install && npm run build && npm test` }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          [
            `created ${result.names.packageName} (operator "${result.names.name}", export ${result.names.exportName}) in ${shown}:`,
            ...result.files.map((f) => `  ${f}`),
            'next:',
            `  cd ${shown} && npm install && npm run build && npm test`,
            '',
          ].join('\n'),
        );
      }),
    );
}
