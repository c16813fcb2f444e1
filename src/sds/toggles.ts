/**
 * Optional-data toggles and provider choice, as SDS presents them (sds-notes §1.2, §6; the seed's notes
 * under "Optional API Endpoints for SDS" and the Test-status FAQ).
 *
 * - Contacts, demographics and user flags are each a toggle. When the provider's profile supports the
 *   data, the toggle is on by default and the admin may turn it off. When it does not, the toggle is
 *   "unavailable, shown but off and not available for interaction": asking for it is refused.
 * - A provider whose SDS status is `Test` can be chosen only by a tenant that is flighted for it; once a
 *   test succeeds the provider is promoted "from test mode to yes". Flighting and promotion are kept by
 *   the caller (store); these functions only decide.
 */
import { CAPABILITIES, CAPABILITY_LABELS, type Capability, type Provider } from './provider-catalog.ts';

/** The resolved state of every optional-data toggle: true = that data is ingested. */
export type Toggles = Readonly<Record<Capability, boolean>>;

/** What the admin asked for; an absent key means "the default". */
export type ToggleRequest = Partial<Record<Capability, boolean>>;

/** All toggles off: only the required data is ingested. */
export const NO_OPTIONAL_DATA: Toggles = Object.freeze({ contacts: false, demographics: false, userFlags: false });

/** Refusal of a toggle the provider profile does not support. `code` is stable for `http/` and `cli/`. */
export class ToggleError extends Error {
  override readonly name = 'ToggleError';
  readonly code = 'toggle_unavailable';
  /** The requested toggles that are unavailable, in CAPABILITIES order. */
  readonly toggles: readonly Capability[];
  readonly providerId: string;

  constructor(provider: Provider, toggles: readonly Capability[]) {
    super(toggles.map((t) => unavailableMessage(provider, t)).join(' '));
    this.toggles = toggles;
    this.providerId = provider.id;
  }
}

function unavailableMessage(provider: Provider, toggle: Capability): string {
  const label = CAPABILITY_LABELS[toggle];
  if (provider.supports === undefined) {
    return `${provider.name} is not listed in the SDS provider table, so its support for ${label} is unknown; the ${label} toggle is unavailable (choose the "custom" provider to turn it on).`;
  }
  return `${provider.name} does not support ${label} in SDS; the ${label} toggle is unavailable (greyed out).`;
}

/** One toggle as a settings screen shows it. */
export interface ToggleState {
  toggle: Capability;
  /** False = greyed out: the provider profile does not support this data. */
  available: boolean;
  /** The default: on exactly when available. */
  defaultOn: boolean;
  /** Why it is unavailable (absent when available). */
  reason?: string;
}

/** The three toggles of a provider as SDS's settings show them (available + default). */
export function toggleStates(provider: Provider): ToggleState[] {
  return CAPABILITIES.map((toggle) => {
    const available = provider.supports?.[toggle] === true;
    const s: ToggleState = { toggle, available, defaultOn: available };
    if (!available) s.reason = unavailableMessage(provider, toggle);
    return s;
  });
}

/**
 * Resolves the admin's request against the provider profile: each toggle is on by default when the
 * provider supports it, and may be turned off. Asking for one the provider does not support (`true`)
 * throws a `ToggleError` naming every such toggle. Turning an unsupported one off is accepted (it is off).
 */
export function resolveToggles(provider: Provider, requested: ToggleRequest = {}): Toggles {
  const refused: Capability[] = [];
  const out: Record<Capability, boolean> = { contacts: false, demographics: false, userFlags: false };
  for (const t of CAPABILITIES) {
    const supported = provider.supports?.[t] === true;
    const want = requested[t];
    if (want === true && !supported) refused.push(t);
    out[t] = supported && want !== false;
  }
  if (refused.length > 0) throw new ToggleError(provider, refused);
  return Object.freeze(out);
}

/** Installation (or tenant) state that decides whether a Test provider can be chosen. */
export interface ChoiceContext {
  /** Provider ids this installation is flighted for (`rostersync providers flight NAME`). */
  flighted: ReadonlySet<string>;
  /** Provider ids promoted locally from Test to Yes after a successful provider check. */
  promoted: ReadonlySet<string>;
}

export type ChoiceResult = { ok: true; via: 'listed' | 'flighted' | 'promoted' | 'custom' } | { ok: false; reason: string };

/**
 * Whether a connection may name this provider. `Yes` providers and `custom` always; `Test` providers
 * only when flighted or promoted; `No` and unlisted vendors never (with a reason that says what to do).
 */
export function canChoose(provider: Provider, ctx: ChoiceContext): ChoiceResult {
  if (provider.custom) return { ok: true, via: 'custom' };
  switch (provider.status) {
    case 'Yes':
      return { ok: true, via: 'listed' };
    case 'Test':
      if (ctx.promoted.has(provider.id)) return { ok: true, via: 'promoted' };
      if (ctx.flighted.has(provider.id)) return { ok: true, via: 'flighted' };
      return {
        ok: false,
        reason: `${provider.name} has SDS status Test: it can be chosen only when this installation is flighted for it (rostersync providers flight ${provider.id}). After a successful provider check it can be promoted to Yes.`,
      };
    case 'No':
      return { ok: false, reason: `${provider.name} has SDS status No: it is not available as a provider. Use the "custom" provider to connect to its OneRoster 1.1 API.` };
    case undefined:
      return { ok: false, reason: `${provider.name} is not listed in the SDS provider table (no status is stated). Use the "custom" provider to connect to its OneRoster 1.1 API.` };
  }
}

/** The status a provider has here, counting a local promotion from Test to Yes. */
export function effectiveStatus(provider: Provider, promoted: ReadonlySet<string>): Provider['status'] {
  return provider.status === 'Test' && promoted.has(provider.id) ? 'Yes' : provider.status;
}
