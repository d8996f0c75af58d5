import { expect } from 'chai';
import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';

describe('validateAgainst', () => {
  describe('having an attention config', () => {
    it('should accept the smallest config and fill defaults', () => {
      const r = validateAgainst<{ attention: { options: object } }>(SCHEMA_IDS.attentionConfig, { attention: { name: 'performer' } });
      expect(r.valid).to.equal(true);
      expect(r.value.attention.options).to.deep.equal({});
    });

    it('should name an unknown key with its JSON path and the allowed keys', () => {
      const r = validateAgainst(SCHEMA_IDS.attentionConfig, { attention: { name: 'exact', optons: {} } });
      expect(r.valid).to.equal(false);
      const text = formatIssues(r.issues);
      expect(text).to.include('at /attention/optons: unknown key "optons"').and.include('"options"');
    });

    it('should report every error, each with its path and bad value', () => {
      const r = validateAgainst(SCHEMA_IDS.attentionConfig, {
        attention: { default: { name: 'Exact!' }, overrides: [{ layers: -1, name: 'exact' }, { layers: { from: 0 }, name: 'exact' }] },
        backend: 'tpu',
      });
      const text = formatIssues(r.issues);
      expect(text).to.include('at /attention/default/name').and.include('"Exact!"');
      expect(text).to.include('at /attention/overrides/0/layers: must be >= 0 (got -1)');
      expect(text).to.include('at /attention/overrides/1/layers/to: missing required key "to"');
      expect(text).to.include('at /backend: must be one of the allowed values (got "tpu"); allowed: "wasm", "cpu", "webgpu", "tensorflow", "auto"');
    });

    it('should accept per-layer overrides by index, list, range and first N', () => {
      const r = validateAgainst(SCHEMA_IDS.attentionConfig, {
        attention: {
          default: { name: 'exact' },
          overrides: [
            { layers: 3, name: 'performer', options: { m: 64 } },
            { layers: [0, 2], name: 'exact' },
            { layers: { from: 1, to: 4 }, name: 'exact' },
            { layers: { first: 2 }, name: 'thinformer', fallback: { policy: 'warn', order: ['exact'] } },
          ],
        },
      });
      expect(r.valid, formatIssues(r.issues)).to.equal(true);
    });
  });

  it('should validate against a plugin options schema with a base path', () => {
    const schema = { type: 'object', additionalProperties: false, properties: { m: { type: 'integer', minimum: 1, default: 8, description: 'features' } } };
    const ok = validateAgainst<{ m: number }>(schema, {});
    expect(ok.value.m).to.equal(8);
    const bad = validateAgainst(schema, { m: 0 }, '/attention/options');
    expect(formatIssues(bad.issues)).to.include('at /attention/options/m: must be >= 1 (got 0)');
  });

  it('should not mutate its input', () => {
    const input = { attention: { name: 'exact' } };
    validateAgainst(SCHEMA_IDS.attentionConfig, input);
    expect(input).to.deep.equal({ attention: { name: 'exact' } });
  });
});
