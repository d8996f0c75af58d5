import { expect } from 'chai';
import * as fs from 'node:fs';
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
});
