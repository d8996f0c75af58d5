/**
 * Runs every generated case through the API once and summarises, per category, how many cases
 * there are and what they return (error kinds and an example message) — the tables of
 * docs/reliability.md come from here (test/reliability/writeReliabilityDoc.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { loadReader, openAndReadAll, READERS } from '../support/binaryReaders';
import { modelsApi } from '../support/models';
import { installedRegistry } from '../support/registries';
import { binaryCorpus, type BinaryCategory } from './binaryCorpus';
import { cliCorpus } from './cliCorpus';
import { configCorpus } from './configCorpus';
import { FAULTS } from './faultCatalog';
import { fileCorpus } from './fileCorpus';
import { INPUT_CASES } from './inputCorpus';
import { MODEL_INPUT_CASES, modelConfigCorpus } from './modelCorpus';
import { optionCorpus } from './optionCorpus';
import { cliSample, runCaseApi } from './runConfigCase';
import { runInputCase } from './runInputCase';
import { SOAK_CALLS, SOAK_SHAPE, SOAK_TOKENS } from './soakPlan';

export interface CategoryRow {
  readonly category: string;
  readonly cases: number;
  readonly through: string;
  /** Error kinds seen (or "runs" for edge cases that succeed). */
  readonly returns: readonly string[];
  /** The message of the first case, normalised (temp paths → <file>). */
  readonly example: string;
}

export interface ReliabilityReport {
  readonly operators: readonly string[];
  readonly rows: readonly CategoryRow[];
  readonly totals: { readonly configs: number; readonly configPaths: number; readonly commandLines: number; readonly attentionCalls: number; readonly binaryFiles: number; readonly modelInputs: number; readonly edgeCases: number; readonly all: number; readonly viaCli: number };
  readonly faults: ReadonlyArray<{ readonly title: string; readonly kind: string; readonly message: string }>;
  readonly soak: { readonly calls: number; readonly shape: string; readonly operators: number; readonly tokens: number | null };
}

function normalise(message: string, scratch: string): string {
  const lines = message.replace(new RegExp(scratch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '[^"\\s]*', 'g'), '<file>').split('\n');
  let head = lines[0];
  for (let i = 1; i < Math.min(lines.length, 4) && head.endsWith(':'); i++) head = `${head} ${lines[i].trim()}`;
  return head.length > 150 ? `${head.slice(0, 147)}...` : head;
}

function describe(error: unknown, scratch: string): { kind: string; message: string } {
  if (error === undefined) return { kind: 'runs', message: '(output of the right shape, finite)' };
  if (SwapformerError.is(error)) return { kind: error.kind, message: normalise(error.message, scratch) };
  return { kind: `unexpected ${(error as Error)?.constructor?.name}`, message: String((error as Error)?.message ?? error) };
}

/** Runs the corpus (API only; about two seconds) and summarises it. */
export function reliabilityReport(): ReliabilityReport {
  const registry = installedRegistry();
  const operators = registry.list().map((r) => r.meta.name);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-report-'));
  const rows: CategoryRow[] = [];
  try {
    const configs = [...configCorpus(), ...optionCorpus(registry.list().map((r) => r.plugin))];
    const sampled = new Set(cliSample(configs).map((c) => c.id));
    for (const category of [...new Set(configs.map((c) => c.category))]) {
      const cases = configs.filter((c) => c.category === category);
      const outcomes = cases.map((c, i) => describe(runCaseApi(c, registry, scratch, i).error, scratch));
      const viaCli = cases.filter((c) => sampled.has(c.id)).length;
      rows.push({ category, cases: cases.length, through: viaCli ? `API; ${viaCli} also via CLI` : 'API', returns: [...new Set(outcomes.map((o) => o.kind))], example: outcomes[0].message });
    }
    const files = fileCorpus();
    const fileOutcomes = files.map((f) => {
      try {
        readJsonFile(f.make(fs.mkdtempSync(path.join(scratch, 'f-'))));
        return describe(undefined, scratch);
      } catch (error) {
        return describe(error, scratch);
      }
    });
    rows.push({ category: 'config-files', cases: files.length, through: `API; ${files.length - 1} also via CLI`, returns: [...new Set(fileOutcomes.map((o) => o.kind))], example: fileOutcomes[0].message });
    const args = cliCorpus();
    rows.push({ category: 'cli-arguments', cases: args.length, through: 'CLI', returns: ['exit code 1'], example: `swapformer: error: ${args[0].includes} ...` });
    let attentionCalls = 0;
    let edgeCases = 0;
    for (const category of ['attention-inputs', 'attention-edge-cases', 'operator-geometry'] as const) {
      const pairs = registry.list().flatMap((r) => INPUT_CASES.filter((c) => c.category === category && c.applies(r.capabilities)).map((c) => ({ name: r.meta.name, c })));
      const outcomes = pairs.map(({ name, c }) => describe(runInputCase(registry, name, c).error, scratch));
      if (category === 'attention-edge-cases') edgeCases += pairs.length;
      else attentionCalls += pairs.length;
      rows.push({ category, cases: pairs.length, through: `API, ${operators.length} operators`, returns: [...new Set(outcomes.map((o) => o.kind))], example: outcomes[0].message });
    }
    let binaryFiles = 0;
    const binary = binaryCorpus();
    for (const category of ['safetensors', 'safetensors-checkpoint', 'idx'] as BinaryCategory[]) {
      const cases = binary.filter((c) => c.category === category);
      const open = loadReader(category);
      if (!open) {
        rows.push({ category, cases: cases.length, through: 'API', returns: ['pending'], example: `(${READERS[category].module} is not on this branch yet; the cases run once it is)` });
        continue;
      }
      // cases that block or allocate run in child processes in the test; here they are only counted
      const runnable = cases.filter((c) => !c.mayBlock && !c.maxRssGrowthMiB);
      const outcomes = runnable.map((c) => describe(openAndReadAll(open, c.make(fs.mkdtempSync(path.join(scratch, 'b-')))), scratch));
      binaryFiles += cases.length;
      rows.push({ category, cases: cases.length, through: `API; ${cases.length - runnable.length} in child processes`, returns: [...new Set(outcomes.map((o) => o.kind))], example: outcomes[0].message });
    }
    let modelConfigs = 0;
    const models = modelConfigCorpus();
    for (const category of [...new Set(models.map((c) => c.category))]) {
      const cases = models.filter((c) => c.category === category);
      if (!modelsApi()) {
        rows.push({ category, cases: cases.length, through: 'API', returns: ['pending'], example: '(the model config kinds are not on this branch yet; the cases run once they are)' });
        continue;
      }
      const outcomes = cases.map((c, i) => describe(runCaseApi(c, registry, scratch, 10_000 + i).error, scratch));
      modelConfigs += cases.length;
      rows.push({ category, cases: cases.length, through: 'API', returns: [...new Set(outcomes.map((o) => o.kind))], example: outcomes[0].message });
    }
    rows.push({ category: 'model-inputs', cases: MODEL_INPUT_CASES.length, through: 'built ViT/GPT', returns: modelsApi() ? [...new Set(MODEL_INPUT_CASES.map((c) => c.kind))] : ['pending'], example: modelsApi() ? `(${MODEL_INPUT_CASES[0].kind}: message contains "${MODEL_INPUT_CASES[0].includes}")` : '(the model builders are not on this branch yet)' });
    const modelInputs = modelsApi() ? MODEL_INPUT_CASES.length : 0;
    const configsTotal = configs.length + modelConfigs;
    const all = configsTotal + files.length + args.length + attentionCalls + binaryFiles + modelInputs;
    return {
      operators,
      rows,
      totals: { configs: configsTotal, configPaths: files.length, commandLines: args.length, attentionCalls, binaryFiles, modelInputs, edgeCases, all, viaCli: sampled.size + files.length - 1 + args.length },
      faults: [
        ...FAULTS.map((f) => ({ title: f.title, kind: f.kind, message: f.includes[0] })),
        { title: 'forward fails on the 5th of 10 calls', kind: 'operator-failed', message: 'later calls succeed again; no leak' },
        ...(modelsApi()
          ? [
              { title: 'ViT: the operator of layer 2 throws in forward', kind: 'operator-failed', message: '[plugin:fault-forward] layer 2' },
              { title: 'ViT: a beforeAttention tap throws at layer 1', kind: 'hook-failed', message: 'hook tap "layer-1-tap" on beforeAttention threw (layer 1' },
              { title: 'ViT: the operator of layer 1 throws in create while building', kind: 'operator-failed', message: '[plugin:fault-create] create failed (layer 1): boom' },
            ]
          : []),
      ],
      soak: { calls: SOAK_CALLS, shape: `b ${SOAK_SHAPE.batch}, h ${SOAK_SHAPE.heads}, n ${SOAK_SHAPE.nq}, d ${SOAK_SHAPE.dk}`, operators: operators.length, tokens: modelsApi() ? SOAK_TOKENS : null },
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
