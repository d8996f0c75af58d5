import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@swapformer/models';
import { formatDropInMarkdown } from './formatDropIn';
import { renderParetoSvg } from './paretoChart';
import type { DropInReport } from './runDropIn';

/**
 * Writes `<dir>/<name>.md` and, when there is a ViT table, `<dir>/<name>.svg` (`-full` is
 * appended to the name for `--full` runs). Returns the paths written.
 *
 * @example const files = writeDropInReport(report, { dir: 'docs/results', name: 'dropin' }, 'npm start');
 */
export function writeDropInReport(report: DropInReport, output: { dir: string; name: string }, command: string): { markdown: string; svg: string | null } {
  const name = report.full ? `${output.name}-full` : output.name;
  fs.mkdirSync(output.dir, { recursive: true });
  const ranVit = report.vit?.rows.some((r) => !r.skipped) ?? false;
  const svg = ranVit ? path.join(output.dir, `${name}.svg`) : null;
  if (svg && report.vit) {
    const title = `ViT on Fashion-MNIST (${report.vit.images} test images, ${report.backend}): accuracy vs attention time`;
    writeFileAtomic(svg, renderParetoSvg(report.vit.rows, title));
  }
  const markdown = path.join(output.dir, `${name}.md`);
  writeFileAtomic(markdown, formatDropInMarkdown(report, svg ? path.basename(svg) : null, command));
  return { markdown, svg };
}
