import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { softwareAdapterReason } from '../src/backend/softwareAdapter';

describe('useBackend("auto") and software WebGPU adapters', function () {
  this.timeout(120000);

  it('should tell software adapters (fallback, lavapipe, SwiftShader) from GPUs', () => {
    expect(softwareAdapterReason({ isFallbackAdapter: true })).to.include('fallback');
    expect(softwareAdapterReason({ info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' } })).to.include('llvmpipe');
    expect(softwareAdapterReason({ info: { vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' } })).to.include('SwiftShader');
    expect(softwareAdapterReason({ isFallbackAdapter: false, info: { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100', description: 'NVIDIA H100 80GB HBM3' } })).to.equal(null);
  });

  it('should never pick a software adapter for "auto", saying why it skipped webgpu', function () {
    // what `auto` chooses on this machine, in a fresh process (the backend is process-wide)
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../dist'))}).useBackend('auto').then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 90000 });
    expect(r.status, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { active: string; skipped: Array<{ name: string; reason: string }> };
    const webgpu = report.skipped.find((s) => s.name === 'webgpu');
    if (report.active === 'webgpu') {
      // a machine with a real GPU: then the adapter must not have been a software one
      const probe = `const d=require('webgpu');Object.assign(globalThis,d.globals);d.create([]).requestAdapter().then((a)=>{process.stdout.write(JSON.stringify({isFallbackAdapter:a.isFallbackAdapter,info:{vendor:a.info.vendor,architecture:a.info.architecture,device:a.info.device,description:a.info.description}}));process.exit(0)})`;
      const adapter = JSON.parse(spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 60000 }).stdout);
      expect(softwareAdapterReason(adapter)).to.equal(null);
    } else if (webgpu && /software|fallback/.test(webgpu.reason)) {
      expect(webgpu.reason).to.include('--backend webgpu');
    } else {
      this.skip(); // no WebGPU adapter at all here: nothing to choose from
    }
  });
});
