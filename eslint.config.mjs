// The rules a reviewer would otherwise keep by hand (docs/architecture.md, the style guide):
// no default exports, no `export *` re-exports, type-only imports marked as such, and no
// environment reads in library code (the CLI reads the environment once, into the container).
// Syntax-only rules (no type information), so `npm run lint` stays a few seconds on 2 cores.
import tseslint from 'typescript-eslint';

const LIBRARY_SOURCES = ['schemas/src/**/*.ts', 'core/src/**/*.ts', 'kernels/src/**/*.ts', 'plugins/*/src/**/*.ts', 'registry/src/**/*.ts', 'models/src/**/*.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'examples/web/**/*.js', '**/*.d.ts'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'No default exports: export by name (the style guide, rule 7).' },
        { selector: 'ExportAllDeclaration[exported=null]', message: 'No `export *`: list what a module exports (the style guide, rule 7).' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-debugger': 'error',
    },
  },
  {
    files: LIBRARY_SOURCES,
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Library code reads no environment: settings live in the container (the CLI reads the environment once).' }],
    },
  },
);
