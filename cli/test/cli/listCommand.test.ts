import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performerOptionsSchema } from '@swapformer/plugin-performer';
import { allowedValues, describeOptions, type OptionDescription } from '../../src/cli/describeOptions';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: path.resolve(__dirname, '../../..') });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('swapformer list', () => {
  it('should give every operator its options in --json, each with its type, default and description as its schema says', () => {
    const r = swapformer('list', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string; options: OptionDescription[] }> };
    const performer = listed.operators.find((o) => o.name === 'performer');
    expect(performer?.options.map((o) => o.name)).to.deep.equal(Object.keys(performerOptionsSchema.properties));
    expect(performer?.options.find((o) => o.name === 'features')).to.deep.include({ type: 'integer | null', default: null, minimum: 1, maximum: 65536 });
    expect(performer?.options.find((o) => o.name === 'redraw')).to.deep.include({ type: 'enum', default: 'fixed', enum: ['fixed', 'per-call'] });
    for (const operator of listed.operators) {
      expect(operator.options.length, operator.name).to.be.above(0);
      for (const option of operator.options) {
        expect(option.description, `${operator.name}.${option.name}`).to.not.equal('');
        expect(option, `${operator.name}.${option.name}`).to.have.property('default');
      }
    }
  });

  it('should show one operator with its options table for `list <name>`', () => {
    const r = swapformer('list', 'performer');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('performer').and.include('@swapformer/plugin-performer').and.include('capabilities: causal:native');
    for (const [name, property] of Object.entries(performerOptionsSchema.properties)) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
      expect(line, name).to.include(JSON.stringify(property.default)).and.include(property.description.slice(0, 30));
    }
    expect(r.stdout).to.include('"fixed", "per-call"').and.include('[1, 8192]');
  });

  it('should refuse an unknown name with the installed operators and a did-you-mean', () => {
    const r = swapformer('list', 'perfomer');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('unknown attention operator "perfomer"').and.include('Did you mean "performer"?');
  });
});

describe('allowedValues', () => {
  it('should write enums as their values and ranges with open and closed ends', () => {
    const [features, , rowNorms] = describeOptions(performerOptionsSchema);
    expect(allowedValues(features)).to.equal('[1, 65536]');
    expect(allowedValues(rowNorms)).to.equal('"gaussian", "fixed"');
    expect(allowedValues({ name: 'delta', type: 'number', exclusiveMinimum: 0, maximum: 1, description: '' })).to.equal('(0, 1]');
    expect(allowedValues({ name: 'n', type: 'integer', minimum: 1, description: '' })).to.equal('[1, ∞)');
    expect(allowedValues({ name: 'flag', type: 'boolean', description: '' })).to.equal('');
  });
});
