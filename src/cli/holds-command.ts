import type { Command } from '@commander-js/extra-typings';
import { discardHold, pendingHold, runPlan } from '../services/hold-service.ts';
import { syncConnection, type ProviderAccess } from '../services/sync-service.ts';
import { isStoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import type { HoldReason } from '../sync/planner.ts';
import { userInfo } from 'node:os';
import { CliError, intOption } from './cli-error.ts';
import { planText, runJson, runSummary } from './format.ts';
import { accessFromFlags, DEFAULT_DB, openStoreWithKey, storedTarget, withAccessOptions } from './shared.ts';

function who(flag: string | undefined): string {
  if (flag !== undefined && flag !== '') return flag;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

async function heldRun(store: Store, arg: string) {
  const id = intOption('run', arg, 1, Number.MAX_SAFE_INTEGER)!;
  try {
    return await pendingHold(store, id);
  } catch (err) {
    if (isStoreError(err, 'not_found', 'not_held')) throw new CliError(err.message, 2);
    throw err;
  }
}

/**
 * `rostersync holds [show RUN]`, `rostersync approve RUN`, `rostersync discard RUN` (issue 4
 * safeguards): review the runs the thresholds held, then apply or drop them.
 */
export function registerHolds(program: Command): void {
  const holds = program.command('holds').description('Runs held by the safeguards, waiting for approve or discard');
  holds
    .command('list', { isDefault: true })
    .description('List pending holds with their planned deletions')
    .option('--db <path>', `store (default ${DEFAULT_DB})`)
    .option('--connection <id>', 'only this connection')
    .option('--rows <n>', 'planned deletions to show per hold', '5')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const list = await store.runs.pendingHolds(opts.connection !== undefined ? { connectionId: opts.connection } : {});
        const rows = intOption('--rows', opts.rows, 0, 10_000) ?? 5;
        const out = [];
        for (const run of list) out.push({ run, plan: await runPlan(store, run.id, { limit: rows, kinds: ['deleted'] }) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(out)}\n`);
          return;
        }
        if (out.length === 0) {
          process.stdout.write('No pending holds.\n');
          return;
        }
        for (const { run, plan } of out) {
          process.stdout.write(`run ${run.id} · connection ${run.connectionId} · ${run.mode} · held ${run.finishedAt ?? ''}\n`);
          for (const r of (run.hold ?? []) as HoldReason[]) process.stdout.write(`  ${r.message}\n`);
          process.stdout.write(`${planText(plan)}\n  approve: rostersync approve ${run.id}   discard: rostersync discard ${run.id}\n\n`);
        }
      } finally {
        await store.close();
      }
    });
  holds
    .command('show')
    .description("Show a held (or dry) run's whole plan: creates, updates with field diffs, deletes")
    .argument('<run>', 'run id')
    .option('--db <path>', `store (default ${DEFAULT_DB})`)
    .option('--rows <n>', 'rows per entity and kind', '50')
    .option('--json', 'print JSON', false)
    .action(async (runArg, opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const id = intOption('run', runArg, 1, Number.MAX_SAFE_INTEGER)!;
        const run = await store.runs.get(id);
        if (!run) throw new CliError(`run ${id} does not exist`, 2);
        const plan = await runPlan(store, id, { limit: intOption('--rows', opts.rows, 0, 1_000_000) ?? 50 });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ run, plan })}\n`);
          return;
        }
        const state = run.dryRun ? 'dry run' : run.holdState ? `hold ${run.holdState}` : run.status;
        process.stdout.write(`run ${run.id} · connection ${run.connectionId} · ${run.mode} · ${state}\n`);
        for (const r of (run.hold ?? []) as HoldReason[]) process.stdout.write(`  ${r.message}\n`);
        process.stdout.write(`${planText(plan)}\n`);
      } finally {
        await store.close();
      }
    });

  withAccessOptions(
    program
      .command('approve')
      .description('Approve a held run: re-run its sync and apply it, capped at what the hold planned')
      .argument('<run>', 'held run id'),
  )
    .option('--db <path>', `store (default ${DEFAULT_DB})`)
    .option('--by <name>', 'who approves (recorded; default the OS user)')
    .option('--json', 'print JSON', false)
    .action(async (runArg, opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const run = await heldRun(store, runArg);
        // A stored connection carries its own access; one registered by an ad-hoc `sync --base-url`
        // has no stored secret, so the same access flags are needed again.
        let access: ProviderAccess;
        let target: Awaited<ReturnType<typeof storedTarget>> | undefined;
        if (opts.baseUrl !== undefined) access = accessFromFlags(opts);
        else {
          target = await storedTarget(store, run.connectionId);
          access = target.access;
        }
        const { result } = await syncConnection({
          store,
          access,
          connectionId: run.connectionId,
          approveRun: run.id,
          approvedBy: who(opts.by),
          ...(target ? { optional: target.optional, toggles: target.toggles } : {}),
        });
        process.stdout.write(opts.json ? `${JSON.stringify(runJson(result))}\n` : `${runSummary(result)}\n`);
        if (result.status === 'held') throw new CliError(`run ${result.runId} is held again for changes beyond the approval: review it with \`rostersync holds show ${result.runId}\``, 4);
        if (result.status === 'failed') throw new CliError(`the approval re-run failed; run ${run.id} stays pending`, 1);
      } finally {
        await store.close();
      }
    });

  program
    .command('discard')
    .description('Discard a held run: nothing of it is applied and its plan is dropped')
    .argument('<run>', 'held run id')
    .option('--db <path>', `store (default ${DEFAULT_DB})`)
    .option('--by <name>', 'who discards (recorded; default the OS user)')
    .action(async (runArg, opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const run = await heldRun(store, runArg);
        await discardHold(store, run.id, who(opts.by));
        process.stdout.write(`run ${run.id} discarded; the live data is unchanged.\n`);
      } finally {
        await store.close();
      }
    });
}


