import { expect } from 'chai';
import * as fs from 'node:fs';
import { FUZZ_DEFAULT_RUNS, FUZZ_DEFAULT_TOTAL } from './corpus/fuzzPlan';
import { reliabilityReport } from './corpus/reliabilityReport';
import { DOC, END, START } from './writeReliabilityDoc';

describe('docs/reliability.md', () => {
  it('should list every corpus category and never claim more cases than the corpus holds', function () {
    this.timeout(120000);
    const text = fs.readFileSync(DOC, 'utf8');
    expect(text).to.include(START).and.include(END);
    const counts = JSON.parse(/<!-- counts: (\{.*\}) -->/.exec(text)?.[1] ?? '{}') as Record<string, number>;
    const report = reliabilityReport();
    const hint = ' (regenerate: npx tsx test/reliability/writeReliabilityDoc.ts)';
    expect(Object.keys(counts).sort(), `categories${hint}`).to.deep.equal(report.rows.map((r) => r.category).sort());
    for (const row of report.rows) expect(counts[row.category], `${row.category}${hint}`).to.be.at.most(row.cases);
    const documentedTotal = Number(/\| malformed inputs tried \| \*\*(\d+)\*\* \|/.exec(text)?.[1]);
    expect(documentedTotal, `total${hint}`).to.be.at.most(report.totals.all).and.at.least(300);
    const documentedFaults = Number(/\| faults injected \| (\d+) \|/.exec(text)?.[1]);
    expect(documentedFaults, `faults${hint}`).to.be.at.least(14).and.at.most(report.faults.length);
  });

  it('should list the fuzzing counts npm test runs, target by target', () => {
    const text = fs.readFileSync(DOC, 'utf8');
    for (const [target, runs] of Object.entries(FUZZ_DEFAULT_RUNS)) expect(text, `docs/reliability.md lacks "| ${target} | ${runs} |"`).to.include(`| ${target} | ${runs} |`);
    expect(text).to.include(`| **total** | **${FUZZ_DEFAULT_TOTAL}** |`);
    expect(FUZZ_DEFAULT_TOTAL).to.be.at.least(10000);
  });
});
