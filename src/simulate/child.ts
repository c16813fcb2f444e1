/**
 * Runs the simulator as a child process (the sync benchmark keeps generation and serving off
 * its own event loop this way).
 *
 * Options are `SimulatorOptions` as JSON, from the first argument or else the
 * `ROSTERSYNC_SIMULATOR` environment variable, e.g.
 *   tsx src/simulate/child.ts '{"size":"large","auth":"none","faults":"429=0.01"}'
 * When listening it prints exactly one JSON line to stdout:
 *   {"baseUrl":"…","tokenUrl":"…","clientId":"…","clientSecret":"…"}
 * (the secret goes only to the parent through this pipe; nothing else is printed to stdout).
 * It exits on SIGTERM or SIGINT, and when its stdin is a pipe that the parent closes.
 * On a startup error it writes `{"error":"…"}` to stderr and exits with code 1.
 */
import { fstatSync } from 'node:fs';
import { startSimulator } from './server.ts';
import type { RunningSimulator, SimulatorOptions } from './server.ts';

function readOptions(): SimulatorOptions {
  const text = process.argv[2] ?? process.env['ROSTERSYNC_SIMULATOR'] ?? '{}';
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('simulator options must be a JSON object');
  return parsed as SimulatorOptions;
}

/** True when stdin is a pipe or socket (a parent holding the other end), not a TTY or /dev/null. */
function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  let sim: RunningSimulator | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await sim?.close();
    } finally {
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  if (stdinIsPipe()) {
    process.stdin.on('end', () => void stop(0));
    process.stdin.on('close', () => void stop(0));
    process.stdin.resume();
  }
  try {
    sim = await startSimulator(readOptions());
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
    process.exit(1);
  }
  if (stopping) return;
  process.stdout.write(
    `${JSON.stringify({ baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret })}\n`,
  );
}

void main();
