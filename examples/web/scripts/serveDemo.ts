/**
 * A tiny static file server for the demo and the browser tests, on 127.0.0.1. With `isolated`
 * it sends COOP/COEP headers, which make the page cross-origin isolated (SharedArrayBuffer,
 * worker threads for the kernels and tfjs-wasm's threaded build). Extra routes let the tests
 * serve broken responses (404, HTML, truncated bodies).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { buildDemo, DEMO_DIST } from './buildDemo';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly root: string;
  readonly isolated: boolean;
  readonly port?: number;
  /** Tried before the files; return true when handled. */
  readonly routes?: readonly Route[];
}

/**
 * @example const server = await serveStatic({ root: 'examples/web/dist', isolated: true }); console.log(server.url);
 */
export function serveStatic(options: ServeOptions): Promise<StaticServer> {
  const root = path.resolve(options.root);
  const server = http.createServer((req, res) => {
    if (options.isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Cache-Control', 'no-store');
    if (options.routes?.some((route) => route(req, res))) return;
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = path.join(root, pathname);
    if (!file.startsWith(root)) return void res.writeHead(403).end('forbidden');
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${pathname}`);
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))),
      });
    });
  });
}

if (require.main === module) {
  const isolated = !process.argv.includes('--no-isolation');
  const port = Number(process.env.PORT ?? 8080);
  buildDemo()
    .then((b) => {
      console.log(`built: ${(b.wasmOnlyJsBytes / 1024).toFixed(0)} KiB of JavaScript on wasm (+${(b.webgpuJsBytes / 1024).toFixed(0)} KiB WebGPU chunk, +${(b.otherLazyJsBytes / 1024).toFixed(0)} KiB loaded on use)`);
      return serveStatic({ root: DEMO_DIST, isolated, port });
    })
    .then((s) => console.log(`Swapformer demo at ${s.url}/ (${isolated ? 'cross-origin isolated' : 'no COOP/COEP'}); Ctrl-C stops it`))
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
