import type { Command } from 'commander';
import { SwapformerError } from '@swapformer/core';
import * as path from 'node:path';
import { type AttentionSpec, readJsonFile, validateConfig } from '@swapformer/registry';
import { checkAttentionAgainstCheckpoint } from '@swapformer/models';
import { checkRunConfigCheckpoints } from '../../config/checkpointChecks';
import { CONFIG_KINDS } from '../../config/configKinds';
import { createCliSession } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';

export function registerValidateCommand(program: Command, run: CommandRunner): void {
  program
    .command('validate')
    .description('validate any Swapformer config file (operator selection, model, run, backend); exit 0 if valid, 1 with every error otherwise')
    .argument('<config>', 'path to a JSON config file')
    .option('--checkpoint <dir>', 'also check the config\'s "attention" against this checkpoint: layers it names exist, a GPT gets causal operators (run configs are checked against the checkpoints they name)')
    .option('--json', 'print {"file", "valid", "kind"} (and "error" with every problem when invalid) on stdout')
    .action((file: string, opts: { json?: boolean; checkpoint?: string }) =>
      run(async () => {
        const { registry } = createCliSession();
        try {
          const { kind, value } = validateConfig<Record<string, unknown>>(readJsonFile(file), registry, CONFIG_KINDS);
          const notes: string[] = [];
          if (kind.name === 'run') {
            const findings = checkRunConfigCheckpoints(value, path.dirname(path.resolve(file)), registry);
            if (findings.problems.length > 0) throw new SwapformerError('invalid-config', `invalid run config (checked against its checkpoints):\n${findings.problems.join('\n')}`);
            notes.push(...findings.notes);
          }
          if (opts.checkpoint !== undefined) {
            if (!value.attention) throw new SwapformerError('invalid-config', `--checkpoint checks a config's "attention"; this ${kind.name} config has none.`);
            checkAttentionAgainstCheckpoint(opts.checkpoint, value.attention as AttentionSpec, registry);
          }
          if (!opts.json) for (const note of notes) process.stderr.write(`[swapformer] note: ${note}\n`);
          process.stdout.write(opts.json ? `${JSON.stringify({ file, valid: true, kind: kind.name, ...(notes.length ? { notes } : {}) })}\n` : `${file}: valid ${kind.name} config\n`);
        } catch (error) {
          // scripts read the verdict from stdout; the message still goes to stderr with exit code 1
          if (opts.json && SwapformerError.is(error)) process.stdout.write(`${JSON.stringify({ file, valid: false, error: { kind: error.kind, message: error.message } })}\n`);
          throw error;
        }
      }),
    );
}
