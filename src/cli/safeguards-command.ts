import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { effectiveSafeguards, updateSafeguards, type SafeguardsChange } from '../services/safeguards.ts';
import type { CollectionName } from '../oneroster/types.ts';
import { isStoreError } from '../store/errors.ts';
import { DEPENDENCY_ORDER } from '../sync/planner.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';
import { DEFAULT_DB, findConnection, openStoreWithKey } from './shared.ts';

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} must be a non-negative number, got "${v}"`, 2);
  return n;
}

/** `rostersync connection safeguards NAME [...]`: show or change the hold thresholds (issue 4). */
export function registerSafeguards(conn: Command): void {
  conn
    .command('safeguards')
    .description('Show or change when a sync is held for approval (deletion/update thresholds, empty collections)')
    .argument('<connection>', 'id or name')
    .option('--entity <entity>', `change only this entity (${DEPENDENCY_ORDER.join(', ')})`)
    .option('--delete-percent <n>', 'hold when deletions exceed this % of live rows (default 10) …')
    .option('--delete-count <n>', '… and this many records (default 50)')
    .option('--update-percent <n>', 'hold when updates exceed this % of live rows (default 30) …')
    .option('--update-count <n>', '… and this many records (default 50)')
    .addOption(new Option('--empty-collection <what>', 'a complete collection that comes back empty').choices(['hold', 'keep', 'apply'] as const))
    .option('--off', 'turn holds off for this connection (empty collections still follow --empty-collection)')
    .option('--on', 'turn holds back on')
    .option('--reset', 'back to the defaults')
    .option('--db <path>', `store (default ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (idOrName, opts) => {
      if (opts.on && opts.off) throw new CliError('--on and --off exclude each other', 2);
      if (opts.entity !== undefined && !(DEPENDENCY_ORDER as readonly string[]).includes(opts.entity)) throw new CliError(`unknown entity "${opts.entity}"`, 2);
      const thresholds = Object.fromEntries(
        (
          [
            ['deletePercent', num('--delete-percent', opts.deletePercent)],
            ['deleteCount', num('--delete-count', opts.deleteCount)],
            ['updatePercent', num('--update-percent', opts.updatePercent)],
            ['updateCount', num('--update-count', opts.updateCount)],
          ] as const
        ).filter(([, v]) => v !== undefined),
      );
      const change: SafeguardsChange = {
        ...(Object.keys(thresholds).length > 0 ? { thresholds } : {}),
        ...(opts.entity !== undefined ? { entity: opts.entity as CollectionName } : {}),
        ...(opts.off ? { enabled: false } : opts.on ? { enabled: true } : {}),
        ...(opts.emptyCollection !== undefined ? { emptyCollection: opts.emptyCollection } : {}),
        ...(opts.reset ? { reset: true } : {}),
      };
      const store = await openStoreWithKey(opts.db, false);
      try {
        let c = await findConnection(store, idOrName);
        if (Object.keys(change).length > 0) {
          try {
            c = await updateSafeguards(store, c, change);
          } catch (err) {
            if (isStoreError(err, 'invalid_input')) throw new CliError(err.message, 2);
            throw err;
          }
        }
        const eff = effectiveSafeguards(c);
        if (opts.json) return void process.stdout.write(`${JSON.stringify({ id: c.id, ...eff })}\n`);
        const rows = Object.entries(eff.perEntity).map(([e, t]) => (t ? [e, `${t.deletePercent}% and ${t.deleteCount}`, `${t.updatePercent}% and ${t.updateCount}`] : [e, 'off', 'off']));
        process.stdout.write(
          `${c.id} "${c.name}": holds ${eff.holds ? 'on' : 'off'}; an empty collection: ${eff.emptyCollection}\n${table(['entity', 'hold deletions over', 'hold updates over'], rows)}\n`,
        );
      } finally {
        await store.close();
      }
    });
}
