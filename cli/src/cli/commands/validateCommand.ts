import type { Command } from 'commander';
import { readJsonFile, validateConfig } from '@swapformer/registry';
import { CONFIG_KINDS } from '../../config/configKinds';
import { createCliSession } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';

export function registerValidateCommand(program: Command, run: CommandRunner): void {
  program
    .command('validate')
    .description('validate any Swapformer config file (operator selection, model, run, backend); exit 0 if valid, 1 with every error otherwise')
    .argument('<config>', 'path to a JSON config file')
    .action((file: string) =>
      run(async () => {
        const { registry } = createCliSession();
        const { kind } = validateConfig(readJsonFile(file), registry, CONFIG_KINDS);
        process.stdout.write(`${file}: valid ${kind.name} config\n`);
      }),
    );
}
