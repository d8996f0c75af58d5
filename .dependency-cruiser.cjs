// The layer rules of the monorepo (docs/architecture.md): imports only point down, and no cycles.
//   schemas ← core ← kernels ← plugins;  core ← registry ← models ← cli
// A package may import a layer below it; never one beside or above it. `npm run check:layers`
// (part of `npm test`) fails on any violation.
const pkg = (name) => `^(${name})/src/`;
const below = {
  schemas: [],
  core: ['schemas'],
  kernels: ['schemas', 'core'],
  plugins: ['schemas', 'core', 'kernels'],
  registry: ['schemas', 'core'],
  models: ['schemas', 'core', 'kernels', 'registry', 'plugins/exact'],
  cli: ['schemas', 'core', 'kernels', 'registry', 'models', 'plugins/exact'],
};
const allPackages = ['schemas', 'core', 'kernels', 'plugins/[^/]+', 'registry', 'models', 'cli'];

/** One rule a layer: from its sources, no path into a package that is not below it (or itself). */
const layerRules = Object.entries(below).map(([layer, allowed]) => {
  const from = layer === 'plugins' ? '^plugins/([^/]+)/src/' : pkg(layer);
  const self = layer === 'plugins' ? 'plugins/$1' : layer;
  const forbidden = allPackages.filter((p) => !allowed.includes(p) && p !== layer && !(layer === 'plugins' && p === 'plugins/[^/]+'));
  return {
    name: `layer-${layer}`,
    comment: `${layer} may import only ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (and itself)`,
    severity: 'error',
    from: { path: from },
    to: {
      path: `^(${forbidden.join('|')})/`,
      pathNot: [`^${self}/`, '/node_modules/'],
    },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'a cycle between modules makes load order matter and layers meaningless',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'plugins-apart',
      comment: 'a plugin imports no other plugin: a new operator touches only its folder',
      severity: 'error',
      from: { path: '^plugins/([^/]+)/src/' },
      to: { path: '^plugins/[^/]+/', pathNot: '^plugins/$1/' },
    },
    {
      name: 'src-not-tests',
      comment: 'library code never imports test code',
      severity: 'error',
      from: { path: '/src/' },
      to: { path: '(^|/)test/' },
    },
    {
      name: 'declared-dependencies',
      comment: 'a package imports only what its own package.json declares (it is installed alone from the registry)',
      severity: 'error',
      from: { path: '/src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'npm-dev', 'unknown', 'undetermined'], dependencyTypesNot: ['npm', 'npm-peer', 'npm-optional'] },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.deps.json' },
    combinedDependencies: false,
    preserveSymlinks: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['types', 'require', 'default'], extensions: ['.ts', '.d.ts', '.js', '.json'] },
  },
};
