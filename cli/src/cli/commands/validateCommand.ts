import type { Command } from 'commander';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile, validateConfig } from '@swapformer/registry';
import { CONFIG_KINDS } from '../../config/configKinds';
import { createCliSession } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';

export function registerValidateCommand(program: Command, run: CommandRunner): void {
  program
    .command('validate')
    .description('validate any Swapformer config file (operator selection, model, run, backend); exit 0 if valid, 1 with every error otherwise')
    .argument('<config>', 'path to a JSON config file')
    .option('--json', 'print {"file", "valid", "kind"} (and "error" with every problem when invalid) on stdout')
    .action((file: string, opts: { json?: boolean }) =>
      run(async () => {
        const { registry } = createCliSession();
        try {
          const { kind } = validateConfig(readJsonFile(file), registry, CONFIG_KINDS);
          process.stdout.write(opts.json ? `${JSON.stringify({ file, valid: true, kind: kind.name })}\n` : `${file}: valid ${kind.name} config\n`);
        } catch (error) {
          // scripts read the verdict from stdout; the message still goes to stderr with exit code 1
          if (opts.json && SwapformerError.is(error)) process.stdout.write(`${JSON.stringify({ file, valid: false, error: { kind: error.kind, message: error.message } })}\n`);
          throw error;
        }
      }),
    );
}
