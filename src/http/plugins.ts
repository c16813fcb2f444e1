/**
 * The HTTP surfaces `rostersync serve` mounts: the composition point for the other parts (the
 * re-served OneRoster API, the events API, later the admin API and console).
 *
 * To add one, append an entry `{ name, plugin, options, prefix }` below. The plugin is a fastify
 * plugin registered in its own encapsulated scope (its auth hooks and error handler stay inside it;
 * errors it does not handle answer `{ error, message }` through `http/errors.ts`). Pass what it
 * needs through `options` from the context (the store, the logger); do not open another store.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.ts';
import type { AppPlugin } from './app.ts';

export interface ServeContext {
  store: Store;
  logger: FastifyBaseLogger;
}

/** The plugins `rostersync serve` registers, in order. */
export function servePlugins(ctx: ServeContext): AppPlugin[] {
  void ctx;
  return [
    // { name: 'oneroster', plugin: …, options: { store: ctx.store, … }, prefix: '/ims/oneroster/v1p1' },
    // { name: 'events', plugin: eventsApiPlugin, options: { store: ctx.store, authorize: … } },
  ];
}
