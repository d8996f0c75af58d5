/**
 * The ts/js code blocks of the READMEs, for the doc-test: every block runs unless its info string
 * says `no-run` (```ts no-run), for the rare block that is a shape and not a program.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export interface ReadmeBlock {
  /** README path relative to the repo. */
  readonly file: string;
  /** Line of the opening fence (1-based). */
  readonly line: number;
  /** A file-name-safe identifier. */
  readonly id: string;
  readonly language: 'ts' | 'js';
  readonly run: boolean;
  readonly code: string;
}

const LANGUAGES: Readonly<Record<string, 'ts' | 'js'>> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

/** The root README and each workspace package's README (the files users read on npm). */
export function readmeFiles(repoRoot: string): string[] {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
  const folders = workspaces.flatMap((pattern) => (pattern.endsWith('/*') ? fs.readdirSync(path.join(repoRoot, pattern.slice(0, -2))).sort().map((name) => `${pattern.slice(0, -2)}/${name}`) : [pattern]));
  return ['README.md', ...folders.map((folder) => `${folder}/README.md`)].filter((file) => fs.existsSync(path.join(repoRoot, file)));
}

export function readmeCodeBlocks(repoRoot: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  for (const file of readmeFiles(repoRoot)) {
    const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w+)(.*)$/.exec(lines[i]);
      if (!open) continue;
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      if (end < 0) throw new Error(`${file}:${i + 1}: code block never closed`);
      const language = LANGUAGES[open[1]];
      if (language) {
        const code = lines.slice(i + 1, end).join('\n');
        blocks.push({ file, line: i + 1, id: `${file.replace(/\/?README\.md$/, '').replace(/\W+/g, '_') || 'root'}-L${i + 1}`, language, run: !/\bno-run\b/.test(open[2]), code });
      }
      i = end;
    }
  }
  return blocks;
}

/** The block as a CommonJS script (TypeScript transpiled), top-level await allowed, failing with exit 1. */
export function runnableScript(block: ReadmeBlock): string {
  const js = block.language === 'ts' ? ts.transpileModule(block.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: `${block.id}.ts` }).outputText : block.code;
  return `(async () => {\n${js}\n})().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });\n`;
}
