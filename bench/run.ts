/**
 * `npm run bench -- <name> [options]`: benchmark entry point. Each benchmark prints its own figures.
 * Benchmarks are scripts, never timed unit tests (DEVELOPERS.md "Standards").
 */
const [name, ...rest] = process.argv.slice(2);

const benches: Record<string, () => Promise<void>> = {
  serve: async () => (await import('./serve.ts')).benchServe(rest),
  sync: async () => (await import('./sync.ts')).benchSync(rest),
  generate: async () => (await import('./generate.ts')).benchGenerate(rest),
  export: async () => (await import('./export.ts')).benchExport(rest),
  delta: async () => (await import('./delta.ts')).benchDelta(rest),
  workers: async () => (await import('./workers.ts')).benchWorkers(rest),
};

if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
await benches[name]!();
