/**
 * Responses a checkpoint URL can give in real life, for the demo's bad-input tests: a 404, an
 * HTML page (a single-page app's fallback), a download cut off mid-body (Content-Length larger
 * than what arrives) and a safetensors file that is simply short.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Route } from '../../../examples/web/scripts/serveDemo';

export function brokenCheckpointRoutes(checkpointDir: string): Route[] {
  const config = fs.readFileSync(path.join(checkpointDir, 'config.json'));
  const weights = fs.readFileSync(path.join(checkpointDir, 'model.safetensors'));
  return [
    (req, res) => {
      const url = req.url ?? '';
      if (!url.startsWith('/broken/')) return false;
      const [, , kind, file] = url.split('/');
      if (kind === 'html') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>App</title><p>Welcome');
      } else if (kind === 'missing' || !['config.json', 'model.safetensors'].includes(file)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      } else if (file === 'config.json') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(config);
      } else if (kind === 'cut') {
        // promise the whole file, send half, then drop the connection
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': weights.length });
        res.write(weights.subarray(0, weights.length >> 1), () => res.destroy());
      } else {
        const short = weights.subarray(0, weights.length - 1000);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': short.length }).end(short);
      }
      return true;
    },
  ];
}
