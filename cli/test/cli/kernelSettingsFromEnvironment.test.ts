import { expect } from 'chai';
import { kernelSettingsFromEnvironment } from '../../src/cli/kernelSettingsFromEnvironment';

describe('kernelSettingsFromEnvironment', () => {
  it('should turn the environment variables into kernel settings, leaving unset ones to the defaults', () => {
    expect(kernelSettingsFromEnvironment({})).to.deep.equal({});
    expect(kernelSettingsFromEnvironment({ SWAPFORMER_THREADS: '', SWAPFORMER_WEBGPU_PROGRAMS: '1', SWAPFORMER_WEBGPU_FUSED: '1' })).to.deep.equal({});
    expect(kernelSettingsFromEnvironment({ SWAPFORMER_THREADS: '3', SWAPFORMER_WEBGPU_PROGRAMS: '0', SWAPFORMER_WEBGPU_FUSED: '0' })).to.deep.equal({ threads: 3, webGpuPrograms: false, webGpuFusedAttention: false });
  });

  it('should refuse a SWAPFORMER_THREADS that is not a positive integer, naming the value and the fix', () => {
    for (const bad of ['0', 'two', '1.5', '-1']) {
      expect(() => kernelSettingsFromEnvironment({ SWAPFORMER_THREADS: bad })).to.throw(`SWAPFORMER_THREADS must be a positive integer, got "${bad}"`).with.property('message').that.includes('SWAPFORMER_THREADS=1');
    }
  });
});
