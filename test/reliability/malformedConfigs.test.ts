import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readJsonFile } from '@swapformer/registry';
import { cliCorpus } from './corpus/cliCorpus';
import { configCorpus } from './corpus/configCorpus';
import { fileCorpus } from './corpus/fileCorpus';
import type { MalformedCase } from './corpus/MalformedCase';
import { optionCorpus } from './corpus/optionCorpus';
import { checkApiOutcome, checkCliOutcome, cliSample, runCaseApi, writeCaseFile, type CaseOutcome } from './corpus/runConfigCase';
import { mapLimit, runCli, runCliAsync, STACK_LINE } from './support/processes';
import { cliSandbox, installedRegistry } from './support/registries';

const registryFixture = installedRegistry();
const casesFixture: MalformedCase[] = [...configCorpus(), ...optionCorpus(registryFixture.list().map((r) => r.plugin))];
const categories = [...new Set(casesFixture.map((c) => c.category))];

/** CLI processes in flight (each is mostly start-up latency, not CPU). */
const CLI_PARALLEL = 4;

describe('malformed configs', () => {
  let scratch = '';
  let sandbox = '';

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-corpus-'));
    sandbox = cliSandbox();
  });

  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  it(`should generate at least 250 config cases (${casesFixture.length} with ${registryFixture.list().length} operators installed)`, () => {
    expect(casesFixture.length).to.be.at.least(250);
    expect(new Set(casesFixture.map((c) => c.id)).size).to.equal(casesFixture.length);
  });

  describe('through the API (readJsonFile + validateConfig)', () => {
    for (const category of categories) {
      const cases = casesFixture.filter((c) => c.category === category);
      it(`should refuse all ${cases.length} ${category} cases with a clear SwapformerError`, () => {
        const failures: string[] = [];
        cases.forEach((c, i) => {
          const before = tf.memory().numTensors;
          const outcome: CaseOutcome = runCaseApi(c, registryFixture, scratch, i);
          const problems = checkApiOutcome(c.expect, outcome, before);
          if (problems.length) failures.push(`${c.id}: ${problems.join('; ')}`);
        });
        expect(failures, failures.join('\n')).to.deep.equal([]);
      });
    }

    const files = fileCorpus();
    it(`should refuse all ${files.length} unreadable config paths with an io or size error`, () => {
      const failures: string[] = [];
      for (const f of files) {
        const dir = fs.mkdtempSync(path.join(scratch, 'file-'));
        const started = Date.now();
        let outcome: CaseOutcome;
        try {
          readJsonFile(f.make(dir));
          outcome = { ms: Date.now() - started };
        } catch (error) {
          outcome = { error, ms: Date.now() - started };
        }
        const problems = checkApiOutcome(f.expect, outcome, tf.memory().numTensors);
        if (problems.length) failures.push(`${f.id}: ${problems.join('; ')}`);
      }
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  });

  describe('through `swapformer validate` (exit code 1, one message, no stack trace)', () => {
    const sample = cliSample(casesFixture);
    it(`should refuse a sample of ${sample.length} config cases`, async function () {
      this.timeout(300000);
      const dir = fs.mkdtempSync(path.join(scratch, 'cli-'));
      const files = sample.map((c, i) => writeCaseFile(c, dir, i));
      const results = await mapLimit(sample, CLI_PARALLEL, (_, i) => runCliAsync(['validate', files[i]], { cwd: sandbox, timeoutMs: 30000 }));
      const failures = sample.flatMap((c, i) => {
        const problems = checkCliOutcome(results[i], c.expect.includes[0]);
        return problems.length ? [`${c.id}: ${problems.join('; ')}`] : [];
      });
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });

    it('should refuse every unreadable config path without hanging (FIFO, devices, link loops)', async function () {
      this.timeout(120000);
      const cases = fileCorpus();
      const paths = cases.map((f) => f.make(fs.mkdtempSync(path.join(scratch, 'clifile-'))));
      const usable = cases.map((f, i) => ({ f, p: paths[i] })).filter(({ p }) => !p.includes('\u0000')); // argv cannot carry NUL
      const results = await mapLimit(usable, CLI_PARALLEL, ({ p }) => runCliAsync(['validate', p], { cwd: sandbox, timeoutMs: 30000 }));
      const failures = usable.flatMap(({ f }, i) => {
        const problems = checkCliOutcome(results[i], f.expect.includes[0]);
        return problems.length ? [`${f.id}: ${problems.join('; ')}`] : [];
      });
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });

    const argumentsCases = cliCorpus();
    it(`should refuse all ${argumentsCases.length} bad command lines and create nothing`, async function () {
      this.timeout(300000);
      const dir = fs.mkdtempSync(path.join(scratch, 'args-'));
      const withDir = (s: string) => s.replace(/\{dir\}/g, dir);
      fs.writeFileSync(path.join(dir, 'keep'), ''); // so that "{dir}" is a non-empty directory
      const results = await mapLimit(argumentsCases, CLI_PARALLEL, (c) => runCliAsync(c.args.map(withDir), { cwd: c.args[0] === 'create-plugin' ? dir : sandbox, timeoutMs: 60000 }));
      const failures = argumentsCases.flatMap((c, i) => {
        const problems = checkCliOutcome(results[i], c.includes, c.usageError);
        if (c.createsNothingAt && fs.existsSync(withDir(c.createsNothingAt))) problems.push(`created ${c.createsNothingAt}`);
        return problems.length ? [`${c.id}: ${problems.join('; ')}`] : [];
      });
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });

    it('should print the stack trace with --verbose only', () => {
      const file = path.join(scratch, 'verbose.json');
      fs.writeFileSync(file, JSON.stringify({ attention: { name: 'exact', options: { queryBlock: 0 } } }));
      const quiet = runCli(['validate', file], { cwd: sandbox });
      const verbose = runCli(['--verbose', 'validate', file], { cwd: sandbox });
      expect(quiet.stderr).to.include('/attention/options/queryBlock').and.not.match(STACK_LINE);
      expect(verbose.code).to.equal(1);
      expect(verbose.stderr).to.include('/attention/options/queryBlock').and.match(STACK_LINE);
    });
  });
});
