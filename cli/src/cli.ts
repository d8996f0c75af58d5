#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { reportCliError } from './cli/CliError';
import type { CommandRunner } from './cli/CommandRunner';
import { registerAdaptCommand } from './cli/commands/adaptCommand';
import { registerBenchCommand } from './cli/commands/benchCommand';
import { registerBenchModelsCommand } from './cli/commands/benchModelsCommand';
import { registerCompareCommand } from './cli/commands/compareCommand';
import { registerCreatePluginCommand } from './cli/commands/createPluginCommand';
import { registerGenerateCommand } from './cli/commands/generateCommand';
import { registerInferCommand } from './cli/commands/inferCommand';
import { registerListCommand } from './cli/commands/listCommand';
import { registerRunCommand } from './cli/commands/runCommand';
import { registerTokenizeCommand } from './cli/commands/tokenizeCommand';
import { registerTrainCommand } from './cli/commands/trainCommand';
import { registerValidateCommand } from './cli/commands/validateCommand';
import { formatVersions, installedSwapformerPackages } from './cli/installedVersions';

const { version } = require('../package.json') as { version: string };

/** The `swapformer` CLI program (exported for tests). */
export function createProgram(): Command {
  const program = new Command('swapformer')
    .description('Swap attention operators into ViT/GPT models by config, compare and benchmark them.')
    // every installed package, not only the CLI's: which core and plugins ran matters in a bug report
    .version(formatVersions(version, installedSwapformerPackages()), '-V, --version', 'print the versions of the CLI and every installed @swapformer package')
    .option('--verbose', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run swapformer --help for usage)');
  const run: CommandRunner = async (body) => {
    try {
      await body();
    } catch (error) {
      process.exitCode = reportCliError(error, Boolean(program.opts().verbose));
    }
  };
  registerListCommand(program, run);
  registerValidateCommand(program, run);
  registerCompareCommand(program, run);
  registerInferCommand(program, run);
  registerGenerateCommand(program, run);
  registerTokenizeCommand(program, run);
  registerTrainCommand(program, run);
  registerAdaptCommand(program, run);
  registerRunCommand(program, run);
  registerBenchCommand(program, run);
  registerBenchModelsCommand(program, run);
  registerCreatePluginCommand(program, run);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 1;
      return;
    }
    process.exitCode = reportCliError(error, argv.includes('--verbose'));
  }
}

if (require.main === module) void main(); // `node cli/dist/cli.js` as well as the bin
