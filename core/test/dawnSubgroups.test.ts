import { expect } from 'chai';
import { hoistEnableDirectives, withSubgroups, type DawnGpu } from '../src/backend/dawnSubgroups';

describe('Dawn subgroups: the device tfjs-webgpu gets in Node', () => {
  it('should move enable directives before the declarations tfjs-webgpu puts first, once each', () => {
    const code = 'struct Uniforms { n : i32 };\n    enable subgroups;\nvar<workgroup> a : array<f32, 4>;\nenable subgroups;\nfn main() { let enabled = 1; }';
    const hoisted = hoistEnableDirectives(code);
    expect(hoisted.split('\n')[0]).to.equal('enable subgroups;');
    expect(hoisted.match(/enable subgroups;/g)).to.have.length(1);
    // identifiers that merely contain the word, and everything else, stay where they were
    expect(hoisted).to.contain('struct Uniforms { n : i32 };').and.to.contain('let enabled = 1;');
    expect(hoistEnableDirectives('fn f() {}')).to.equal('fn f() {}');
  });

  /** A fake adapter recording what the device was asked for and the shader code it got. */
  function fakeGpu(features: string[]) {
    const seen = { requiredFeatures: [] as string[], code: '' };
    const gpu: DawnGpu = {
      requestAdapter: async () => ({
        features: new Set(features),
        requestDevice: async (descriptor?: { requiredFeatures?: Iterable<string> }) => {
          seen.requiredFeatures = [...(descriptor?.requiredFeatures ?? [])];
          return { createShaderModule: (module: { code: string }) => (seen.code = module.code) };
        },
      }),
    };
    return { gpu, seen };
  }

  it('should add subgroups to the features tfjs asks for when the adapter has them, and hoist in that device', async () => {
    const { gpu, seen } = fakeGpu(['subgroups', 'timestamp-query']);
    const adapter = await withSubgroups(gpu).requestAdapter();
    const device = await adapter!.requestDevice({ requiredFeatures: ['timestamp-query'] });
    expect(seen.requiredFeatures).to.deep.equal(['timestamp-query', 'subgroups']);
    device.createShaderModule({ code: 'struct U { n : i32 };\nenable subgroups;\nfn f() {}' });
    expect(seen.code.startsWith('enable subgroups;')).to.equal(true);
  });

  it('should leave an adapter without subgroups as it is', async () => {
    const { gpu, seen } = fakeGpu(['timestamp-query']);
    const adapter = await withSubgroups(gpu).requestAdapter();
    const device = await adapter!.requestDevice({ requiredFeatures: ['timestamp-query'] });
    expect(seen.requiredFeatures).to.deep.equal(['timestamp-query']);
    device.createShaderModule({ code: 'struct U { n : i32 };\nfn f() {}' });
    expect(seen.code).to.equal('struct U { n : i32 };\nfn f() {}');
  });
});
