/**
 * The committed drop-in report (docs/results/dropin.md, written by `npm start`) is what the
 * committed checkpoints produce: the deterministic rows (exact, the checkpoints trained with
 * TOST and LevAttention, and the adapted ones) are re-evaluated through the real CLI on the same committed data and
 * must print the same accuracy and bits per character. Catches a checkpoint, data file or model
 * change that leaves a stale table behind.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';

const repo = path.resolve(__dirname, '../..');
const examples = path.join(repo, 'examples');

interface Row {
  readonly label: string;
  readonly measurements: readonly { readonly metric: number }[];
}

/** `| label | source | value | …` rows of the committed report's two tables: label → value cell. */
function committedCells(): Map<string, string> {
  const text = fs.readFileSync(path.join(repo, 'docs/results/dropin.md'), 'utf8');
  const cells = new Map<string, string>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) table = line.includes('ViT') ? 'vit' : 'gpt';
    const parts = line.split('|').map((s) => s.trim());
    if (parts.length > 4 && parts[2] && /^(drop-in|trained|adapted)/.test(parts[2])) cells.set(`${table}:${parts[1]}`, parts[3]);
  }
  return cells;
}

describe('the committed drop-in report (docs/results/dropin.md)', () => {
  let report: { vit: { rows: Row[] }; gpt: { rows: Row[] } };
  let dir: string;

  before(function () {
    this.timeout(240_000);
    // examples/dropin.json with only the deterministic rows; checkpoints by absolute path.
    const config = JSON.parse(fs.readFileSync(path.join(examples, 'dropin.json'), 'utf8'));
    const abs = (p: string) => path.resolve(examples, p);
    for (const part of [config.vit, config.gpt]) {
      part.checkpoint = abs(part.checkpoint);
      part.operators = part.operators.filter((o: { name: string }) => o.name === 'exact');
      part.trained = part.trained.map((t: { checkpoint: string }) => ({ ...t, checkpoint: abs(t.checkpoint) }));
      // adapted checkpoints are deterministic too (LevAttention; Performer's learned map draws nothing)
      part.adapted = (part.adapted ?? []).map((t: { checkpoint: string }) => ({ ...t, checkpoint: abs(t.checkpoint) }));
    }
    delete config.gpt.sample;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'committed-results-'));
    config.output = { dir, name: 'rerun' };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    const stdout = execFileSync(process.execPath, [path.join(repo, 'cli/dist/cli.js'), 'run', path.join(dir, 'config.json'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    report = JSON.parse(stdout);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should reproduce every deterministic ViT accuracy of the committed table', () => {
    const cells = committedCells();
    expect(report.vit.rows.length).to.equal(4); // exact, two trained with their operator, one adapted
    for (const row of report.vit.rows) expect(cells.get(`vit:${row.label}`), row.label).to.equal((100 * row.measurements[0].metric).toFixed(2));
  });

  it('should reproduce every deterministic GPT bits-per-character of the committed table', () => {
    const cells = committedCells();
    expect(report.gpt.rows.length).to.equal(5); // exact, TOST-trained (plain and tokenShift), two adapted
    for (const row of report.gpt.rows) expect(cells.get(`gpt:${row.label}`), row.label).to.equal(row.measurements[0].metric.toFixed(3));
  });
});
