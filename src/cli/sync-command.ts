import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import type { Toggles } from '../sds/toggles.ts';
import { isSourceError } from '../source/errors.ts';
import { syncConnection, type ProviderAccess } from '../services/sync-service.ts';
import { openStore } from '../store/store.ts';
import { CliError } from './cli-error.ts';
import { accessFromFlags, dbPath, DEFAULT_DB, openStoreWithKey, storedTarget, withAccessOptions } from './shared.ts';
import { planText, runJson, runSummary } from './format.ts';
import { runPlan } from '../services/hold-service.ts';
import { intOption } from './cli-error.ts';
import { createProgress, silentProgress } from './progress.ts';
import { queueSyncCommand } from './worker-command.ts';

/** `rostersync sync`: a full or delta sync (or a dry run) of one provider into the store. */
export function registerSync(program: Command): void {
  withAccessOptions(program.command('sync').description('Pull a OneRoster 1.1 provider into the store (full or delta sync, or a dry run)'))
    .option('--connection <id>', 'sync a stored connection (see `rostersync connection add`) instead of --base-url')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .addOption(
      new Option('--mode <mode>', "full: status='active' and deletes by absence; delta: dateLastModified> the stored cursor")
        .choices(['full', 'delta'] as const)
        .default('full' as const),
    )
    .option('--dry-run', 'plan only: show creates, updates (with field diffs), deletes and holds; apply nothing', false)
    .option('--plan-rows <n>', 'dry run: planned rows to print per entity and kind', '10')
    .option('--no-resume', "don't continue a killed run from its staged pages: mark it failed and start over")
    .option('--courses', 'also pull /courses', false)
    .option('--demographics', 'also pull /demographics (the demographics toggle)', false)
    // Ad-hoc syncs apply the School Data Sync rules with contacts and user flags ON by default (the
    // "custom" provider supports every optional data set, and SDS turns a supported toggle on by
    // default, sds-notes §1.2); demographics stays opt-in because many providers lack /demographics.
    .option('--no-contacts', 'contacts toggle off: parent/guardian/relative users are not ingested')
    .option('--no-user-flags', 'user flags toggle off: metadata."microsoft.userFlags" is dropped')
    .option('--json', 'print one JSON object instead of progress and a table', false)
    .option('--queue', 'PostgreSQL: queue the sync of --connection for the workers instead of running it here', false)
    .action(async (opts) => {
      if (opts.queue) return queueSyncCommand(opts);
      const store = opts.connection !== undefined ? await openStoreWithKey(opts.db, false) : await openStore({ url: dbPath(opts.db) });
      let target: { access: ProviderAccess; connectionId?: string; optional: { courses: boolean; demographics: boolean }; toggles: Toggles };
      try {
        target =
          opts.connection !== undefined
            ? await storedTarget(store, opts.connection)
            : {
                access: accessFromFlags(opts),
                optional: { courses: opts.courses === true, demographics: opts.demographics === true },
                toggles: { contacts: opts.contacts, demographics: opts.demographics === true, userFlags: opts.userFlags },
              };
      } catch (err) {
        await store.close();
        throw err;
      }
      const progress = opts.json ? silentProgress : createProgress();
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        const { result } = await syncConnection({
          store,
          access: target.access,
          ...(target.connectionId !== undefined ? { connectionId: target.connectionId } : {}),
          optional: target.optional,
          toggles: target.toggles,
          mode: opts.mode,
          dryRun: opts.dryRun === true,
          resume: opts.resume,
          onProgress: (p) => progress.update(p),
          signal: abort.signal,
        });
        progress.stop();
        if (result.dryRun) {
          const plan = await runPlan(store, result.runId, { limit: intOption('--plan-rows', opts.planRows, 0, 100_000) ?? 10 });
          process.stdout.write(opts.json ? `${JSON.stringify({ ...runJson(result), plan })}\n` : `${runSummary(result)}\n\n${planText(plan)}\n`);
          return;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(runJson(result))}\n` : `${runSummary(result)}\n`);
        if (result.status === 'held') {
          throw new CliError(`run ${result.runId} is held: nothing was applied. Review it with \`rostersync holds show ${result.runId}\`, then \`rostersync approve ${result.runId}\` or \`rostersync discard ${result.runId}\``, 4);
        }
        if (result.status === 'failed') {
          throw new CliError(`sync failed: ${result.error ? `[${result.error.code}] ${result.error.message}` : 'see the run record'}`, 1);
        }
        if (result.status === 'partial') {
          throw new CliError('sync partly failed: some collections kept their last-known-good rows (see above)', 3);
        }
      } catch (err) {
        progress.stop();
        if (isSourceError(err)) throw new CliError(`[${err.code}] ${err.message}`, 1);
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        await store.close();
      }
    });
}

