import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, LayerSet, OperatorRegistry } from '@swapformer/registry';
import { checkAttentionAgainstCheckpoint } from '@swapformer/models';
import type { DropInOperator } from '../run/runConfig';

/** What checking a config against the checkpoints it names found. */
export interface CheckpointFindings {
  /** Mistakes: `validate` fails on them. */
  readonly problems: string[];
  /** Worth knowing, not wrong (a GPT row that the table will report as not applicable). */
  readonly notes: string[];
}

function attempt(problems: string[], at: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!SwapformerError.is(error)) throw error;
    problems.push(`  at ${at}: ${error.message.replace(/\n/g, '\n  ')}`);
  }
}

/** The selection a run row loads: the whole one it gives, or its operator in the swap layers. */
function rowAttention(op: DropInOperator, swapLayers: LayerSet | undefined): AttentionSpec {
  if (op.attention) return op.attention;
  const selection = { name: op.name!, ...(op.options ? { options: op.options } : {}) };
  return swapLayers === undefined ? selection : { default: { name: 'exact' }, overrides: [{ layers: swapLayers, ...selection }] };
}

/**
 * Checks a run config's rows against the checkpoints its tables name (paths relative to the
 * config file's folder): the checkpoint must exist, swapLayers and per-layer overrides must name
 * layers it has. A GPT row whose operator lacks causal support is a note, not a problem: `run`
 * reports such rows as not applicable, on purpose.
 */
export function checkRunConfigCheckpoints(config: Record<string, unknown>, baseDir: string, registry: OperatorRegistry): CheckpointFindings {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const table of ['vit', 'gpt'] as const) {
    const t = config[table] as { checkpoint: string; swapLayers?: LayerSet; operators?: DropInOperator[] } | undefined;
    if (!t) continue;
    const dir = path.resolve(baseDir, t.checkpoint);
    if (!fs.existsSync(path.join(dir, 'config.json'))) {
      problems.push(`  at /${table}/checkpoint: no checkpoint at "${dir}" (its config.json is missing); paths are relative to the config file's folder.`);
      continue;
    }
    const swapLayers = table === 'vit' ? t.swapLayers : undefined;
    if (swapLayers !== undefined) attempt(problems, `/${table}/swapLayers`, () => checkAttentionAgainstCheckpoint(dir, { default: { name: 'exact' }, overrides: [{ layers: swapLayers, name: 'exact' }] }, registry));
    (t.operators ?? []).forEach((op, i) => {
      const names = op.attention ? [] : [op.name!];
      if (table === 'gpt' && names.some((n) => registry.has(n) && registry.get(n).capabilities.causal === 'none')) {
        notes.push(`/${table}/operators/${i}: "${op.name}" has no causal support; its GPT row will be reported as not applicable.`);
        return;
      }
      attempt(problems, `/${table}/operators/${i}`, () => checkAttentionAgainstCheckpoint(dir, rowAttention(op, swapLayers), registry));
    });
  }
  return { problems, notes };
}
