// The architecture rules of DESIGN.md, checked by `npm test` (`npm run check:architecture`).
// Cycles are checked among the imports that run (tsPreCompilationDeps: false). Type-only cycles remain
// and are known: ml's Tensor <-> Graph <-> functional <-> op rules (a fluent tensor API whose methods
// build graph nodes).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'ml-stands-alone',
      comment: 'ml is the learning core shared by both sides: it imports neither proto, coordinator, site-agent nor e2e',
      severity: 'error',
      from: { path: '^ml/' },
      to: { path: '^(proto|coordinator|site-agent|e2e)/|node_modules/@fedciss/(proto|coordinator|site-agent|e2e)' },
    },
    {
      name: 'proto-stands-alone',
      comment: 'proto is the contract: it imports no other part of the project',
      severity: 'error',
      from: { path: '^proto/' },
      to: { path: '^(ml|coordinator|site-agent|e2e)/|node_modules/@fedciss/(ml|coordinator|site-agent|e2e)' },
    },
    {
      name: 'coordinator-not-site-agent',
      comment: 'the coordinator and the site agent never import each other: they meet only through proto',
      severity: 'error',
      from: { path: '^coordinator/' },
      to: { path: '^(site-agent|e2e)/|node_modules/@fedciss/(site-agent|e2e)' },
    },
    {
      name: 'site-agent-not-coordinator',
      comment: 'the coordinator and the site agent never import each other: they meet only through proto',
      severity: 'error',
      from: { path: '^site-agent/' },
      to: { path: '^(coordinator|e2e)/|node_modules/@fedciss/(coordinator|e2e)' },
    },
    {
      name: 'no-cycles',
      comment: 'a cycle means two modules are one job split badly: give the shared part its own module',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // Workspace packages resolve to their dist/: keep those modules in the graph (so an import of
    // another part is seen) without cruising inside them.
    doNotFollow: { path: '(^|/)(dist|node_modules)/' },
    exclude: { path: '(^|/)generated/' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.base.json' },
    combinedDependencies: true,
  },
};
