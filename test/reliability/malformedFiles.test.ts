import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { binaryCorpus, type BinaryCase, type BinaryCategory } from './corpus/binaryCorpus';
import { loadReader, openAndReadAll, READERS } from './support/binaryReaders';
import { run } from './support/processes';

/** What is wrong with an outcome (empty = the expected clear error). */
function check(c: BinaryCase, error: { kind?: unknown; message?: unknown } | undefined, ms: number): string[] {
  if (error === undefined) return ['was accepted'];
  const problems: string[] = [];
  if (error.kind !== c.expect.kind) problems.push(`kind ${String(error.kind)}, expected ${c.expect.kind}: ${String(error.message).slice(0, 300)}`);
  if (!String(error.message).includes(c.expect.includes)) problems.push(`message lacks ${JSON.stringify(c.expect.includes)}: ${String(error.message).slice(0, 300)}`);
  if (ms > 10_000) problems.push(`took ${ms} ms`);
  return problems;
}

describe('malformed binary files', () => {
  const cases = binaryCorpus();
  let scratch = '';
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-binary-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  for (const category of ['safetensors', 'safetensors-checkpoint', 'idx'] as BinaryCategory[]) {
    const inCategory = cases.filter((c) => c.category === category);
    it(`should refuse all ${inCategory.length} malformed ${category} inputs with one clear error`, function () {
      this.timeout(120000);
      const open = loadReader(category);
      if (!open) {
        process.stderr.write(`    (pending: ${READERS[category].module} is not in this checkout yet)\n`);
        return this.skip();
      }
      const failures: string[] = [];
      for (const c of inCategory) {
        const target = c.make(fs.mkdtempSync(path.join(scratch, 'case-')));
        const started = Date.now();
        if (c.mayBlock || c.maxRssGrowthMiB) {
          const r = run(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'support/binaryReaders.ts'), category, target], { timeoutMs: 20000 });
          if (r.timedOut) failures.push(`${c.id}: hung (killed after ${r.ms} ms)`);
          else {
            const outcome = JSON.parse(r.stdout || '{}') as { accepted?: boolean; kind?: string; message?: string; rssGrowthMiB?: number };
            const problems = check(c, outcome.accepted ? undefined : outcome, Date.now() - started);
            if (c.maxRssGrowthMiB && (outcome.rssGrowthMiB ?? Infinity) > c.maxRssGrowthMiB) problems.push(`peak RSS grew ${outcome.rssGrowthMiB} MiB > ${c.maxRssGrowthMiB} MiB (allocated before checking sizes)`);
            if (problems.length) failures.push(`${c.id}: ${problems.join('; ')}`);
          }
          continue;
        }
        const error = openAndReadAll(open, target);
        const problems = SwapformerError.is(error) || error === undefined ? check(c, error as SwapformerError | undefined, Date.now() - started) : [`threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`];
        if (problems.length) failures.push(`${c.id}: ${problems.join('; ')}`);
      }
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }
});
