/** `npm run bench -- generate [sizes] [--dirty R] [--advance D]`: generation time and peak RSS per size. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function benchGenerate(args: string[]): Promise<void> {
  const script = fileURLToPath(new URL('../src/simulate/measure-generate.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
