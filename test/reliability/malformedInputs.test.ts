import { expect } from 'chai';
import { INPUT_CASES } from './corpus/inputCorpus';
import { runInputCase } from './corpus/runInputCase';
import { installedRegistry } from './support/registries';

const registryFixture = installedRegistry();
const operatorsFixture = registryFixture.list();

describe('malformed attention inputs', () => {
  for (const category of ['attention-inputs', 'attention-edge-cases', 'operator-geometry'] as const) {
    const pairs = operatorsFixture.flatMap((r) => INPUT_CASES.filter((c) => c.category === category && c.applies(r.capabilities)).map((c) => ({ name: r.meta.name, c })));
    const what = category === 'attention-edge-cases' ? 'should run' : 'should refuse';
    it(`${what} all ${pairs.length} ${category} cases over ${operatorsFixture.length} operators, naming the operator and leaking nothing`, () => {
      const failures = pairs.flatMap(({ name, c }) => {
        const { problems } = runInputCase(registryFixture, name, c);
        return problems.length ? [`${name} / ${c.title}: ${problems.join('; ')}`] : [];
      });
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }
});
