import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { fetchCheckpoint, huggingFaceUrl, loadCheckpoint, openSafetensors, readSafetensorsBytes, type VitModel, type GptModel } from '@swapformer/models';
import { idsFixture, pixelsFixture, registryFixture } from './modelFixtures';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'hf');

/** The hub's layout, `/<owner>/<name>/resolve/<revision>/<file>`, over the fixture folders, plus broken answers. */
function hubServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const m = /^\/fixtures\/([\w.-]+)\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
    if (req.url?.startsWith('/html/')) return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><p>login');
    if (req.url?.startsWith('/short/')) {
      const file = req.url.endsWith('config.json') ? 'config.json' : 'model.safetensors';
      const body = fs.readFileSync(path.join(FIXTURES, 'vit-rgb', file));
      const sent = file === 'config.json' ? body : body.subarray(0, body.length - 64);
      return void res.writeHead(200, { 'Content-Length': sent.length }).end(sent);
    }
    const file = m && path.join(FIXTURES, m[1], m[2]);
    if (!file || !fs.existsSync(file)) return void res.writeHead(404).end('Entry not found');
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))) });
    }),
  );
}

async function fetchError(url: string): Promise<SwapformerError> {
  try {
    (await fetchCheckpoint(url, registryFixture())).model.dispose();
  } catch (error) {
    if (SwapformerError.is(error)) return error;
    throw error;
  }
  throw new Error(`expected ${url} to fail`);
}

describe('fetchCheckpoint', () => {
  let hub: { url: string; close(): Promise<void> };
  before(async () => (hub = await hubServer()));
  after(() => hub.close());

  it('should build the Hugging Face hub URL of a repository and revision, and refuse a malformed id', () => {
    expect(huggingFaceUrl('openai-community/gpt2')).to.equal('https://huggingface.co/openai-community/gpt2/resolve/main');
    expect(huggingFaceUrl('me/vit', 'v1.0', 'http://127.0.0.1:1/')).to.equal('http://127.0.0.1:1/me/vit/resolve/v1.0');
    expect(() => huggingFaceUrl('../etc/passwd')).to.throw('is not a Hugging Face repository id');
  });

  for (const fixture of ['vit-rgb', 'vit-f16', 'gpt2-sharded', 'gpt2-bf16']) {
    it(`should load ${fixture} over HTTP into the same model as loadCheckpoint from disk`, async () => {
      const registry = registryFixture();
      const fromDisk = loadCheckpoint(path.join(FIXTURES, fixture), registry);
      const { model: fetched, report } = await fetchCheckpoint(huggingFaceUrl(`fixtures/${fixture}`, 'main', hub.url), registry);
      expect(report.loaded.length).to.be.greaterThan(0);
      const input = fromDisk.kind === 'vit' ? pixelsFixture(2, (fromDisk as VitModel).modelConfig.numChannels, (fromDisk as VitModel).modelConfig.imageSize, 3) : idsFixture(1, 6, (fromDisk as GptModel).modelConfig.vocabSize);
      const [a, b] = [fromDisk.forward(input), fetched.forward(input)];
      expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
      tf.dispose([input, a, b]);
      fromDisk.dispose();
      fetched.dispose();
    });
  }

  it('should read safetensors bytes exactly as the file reader does', () => {
    const file = path.join(FIXTURES, 'vit-f16', 'model.safetensors');
    const [fromFile, fromBytes] = [openSafetensors(file), readSafetensorsBytes(new Uint8Array(fs.readFileSync(file)), 'bytes')];
    expect([...fromBytes.entries.keys()]).to.deep.equal([...fromFile.entries.keys()]);
    for (const name of fromFile.entries.keys()) expect(Array.from(fromBytes.read(name))).to.deep.equal(Array.from(fromFile.read(name)));
  });

  it('should name the URL and the status when a file answers 404', async () => {
    const e = await fetchError(`${hub.url}/fixtures/no-such-model/resolve/main`);
    expect(e.kind).to.equal('io');
    expect(e.message).to.contain('/fixtures/no-such-model/resolve/main/config.json').and.contain('404');
  });

  it('should refuse an HTML page where a checkpoint file was expected', async () => {
    const e = await fetchError(`${hub.url}/html/x`);
    expect(e.message).to.contain('HTML page, not a checkpoint file');
  });

  it('should refuse a truncated safetensors download, naming the tensor past the end', async () => {
    const e = await fetchError(`${hub.url}/short/x`);
    expect(e.kind).to.equal('invalid-checkpoint');
    expect(e.message).to.contain('truncated');
  });
});
