/** Starts `src/simulate/child.ts` as a child process and resolves with its credentials line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface SimChild {
  baseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startSimChild(options: Record<string, unknown>): Promise<SimChild> {
  const script = fileURLToPath(new URL('../src/simulate/child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => resolve(l));
    proc.once('exit', (code) => reject(new Error(`simulator exited early (code ${code})`)));
  });
  const info = JSON.parse(line) as Omit<SimChild, 'proc' | 'stop'>;
  return {
    ...info,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
