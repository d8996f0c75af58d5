import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performerOptionsSchema } from '@swapformer/plugin-performer';
import { thinformerOptionsSchema } from '@swapformer/plugin-thinformer';
import { describeOperatorOptions, type OperatorOptionInfo } from '../../src/cli/operatorOptions';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: '/' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Listed = { operators: Array<{ name: string; options: OperatorOptionInfo[] }> };

describe('swapformer list', () => {
  describe('describeOperatorOptions', () => {
    it('should read type, default, description and bounds from the schema, in schema order', () => {
      const options = describeOperatorOptions(performerOptionsSchema);
      expect(options.map((o) => o.name)).to.deep.equal(Object.keys(performerOptionsSchema.properties));
      expect(options.find((o) => o.name === 'features')).to.deep.equal({
        name: 'features',
        type: 'integer | null',
        default: null,
        description: performerOptionsSchema.properties.features.description,
        minimum: 1,
        maximum: 65536,
        range: '[1, 65536]',
      });
      expect(options.find((o) => o.name === 'redraw')).to.include({ type: 'string', default: 'fixed', range: 'fixed | per-call' });
    });

    it('should write exclusive bounds open, a missing bound as infinity, and no default as absent', () => {
      const [t, u, r] = describeOperatorOptions({ properties: { t: { type: 'number', exclusiveMinimum: 0, maximum: 100, default: 1 }, u: { type: 'integer', minimum: 2 }, r: { enum: [1, 'x', null] } } });
      expect(t.range).to.equal('(0, 100]');
      expect(u.range).to.equal('[2, ∞)');
      expect(u).to.not.have.property('default');
      expect(r).to.include({ type: 'number | string | null', range: '1 | x | null' });
    });
  });

  it('should include every operator’s options in --json', () => {
    const r = swapformer('list', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const listed = JSON.parse(r.stdout) as Listed;
    const thinformer = listed.operators.find((o) => o.name === 'thinformer')!;
    expect(thinformer.options.map((o) => o.name)).to.deep.equal(Object.keys(thinformerOptionsSchema.properties));
    for (const operator of listed.operators) {
      for (const option of operator.options) expect(option.description, `${operator.name}.${option.name}`).to.not.equal('');
    }
  });

  it('should show one operator with its capabilities and options table', () => {
    const r = swapformer('list', 'performer');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('performer 0.').and.include('(@swapformer/plugin-performer, operator API 2.1.0)');
    expect(r.stdout).to.match(/decoding\s+recurrent-state/).and.match(/randomness\s+seeded/);
    for (const option of describeOperatorOptions(performerOptionsSchema)) expect(r.stdout).to.match(new RegExp(`\\n${option.name}\\s+${option.type.replace(/\|/g, '\\|')}\\s`));
    expect(r.stdout).to.match(/features\s+integer \| null\s+null\s+\[1, 65536\]/);
    const json = JSON.parse(swapformer('list', 'performer', '--json').stdout) as { name: string; options: OperatorOptionInfo[] };
    expect(json.name).to.equal('performer');
    expect(json.options).to.deep.equal(describeOperatorOptions(performerOptionsSchema));
  });

  it('should refuse an unknown name with did-you-mean and the installed names, exit 1, no stack trace', () => {
    const r = swapformer('list', 'performr');
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include('unknown attention operator "performr"').and.include('Did you mean "performer"?').and.include('Installed operators: exact, kdeformer, levattention, performer, thinformer, tost.');
    expect(r.stderr).to.not.match(/\n\s+at .*\.js:\d+/);
  });
});
