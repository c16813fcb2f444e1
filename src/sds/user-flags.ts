/**
 * SDS user flags in OneRoster: `metadata."microsoft.userFlags"` on a student, a comma-delimited list
 * (the seed: "must be formatted as a comma delimited list. User flags may appear in any order and
 * aren't case sensitive"; sds-notes §1.3, §2.5).
 *
 * The default list is the one in Microsoft's Postman collection comment: freeLunch, reducedLunch,
 * homeless, giftedOrTalented, 504, ELL, LEP, IEP. (The test array in that collection omits
 * `reducedLunch` although its comment lists it; we accept it, as the comment and the SDS docs do.)
 * Values are matched case-insensitively and stored in the default spelling; blanks around items and
 * empty items (`"a,,b"`, a trailing comma, `""`) are ignored; duplicates collapse.
 *
 * Hot path: every student of a run (~1M at `large`) carries a flag string, but only a few hundred
 * distinct strings exist in a district, so parses are memoised (bounded) and their results frozen.
 */

/** The default flag values of SDS, in canonical order. */
export const USER_FLAGS = ['freeLunch', 'reducedLunch', 'homeless', 'giftedOrTalented', '504', 'ELL', 'LEP', 'IEP'] as const;
export type UserFlag = (typeof USER_FLAGS)[number];

/** The metadata key SDS reads (the seed's example). */
export const USER_FLAGS_KEY = 'microsoft.userFlags';

/** Dotted field path of the flags, as issues name it. */
export const USER_FLAGS_FIELD = `metadata.${USER_FLAGS_KEY}`;

const BY_LOWER: ReadonlyMap<string, UserFlag> = new Map(USER_FLAGS.map((f) => [f.toLowerCase(), f]));
const ORDER: ReadonlyMap<UserFlag, number> = new Map(USER_FLAGS.map((f, i) => [f, i]));

export interface ParsedUserFlags {
  /** Known flags in canonical order and spelling, without duplicates. */
  readonly flags: readonly UserFlag[];
  /** Items that are not SDS flags, trimmed, as sent (first occurrence of each, case-insensitively). */
  readonly unknown: readonly string[];
  /** `flags` joined with commas: the value to store (`''` when none). */
  readonly normalised: string;
}

const EMPTY: ParsedUserFlags = Object.freeze({ flags: Object.freeze([]), unknown: Object.freeze([]), normalised: '' });
const CACHE_LIMIT = 4096;
const cache = new Map<string, ParsedUserFlags>();

function parse(text: string): ParsedUserFlags {
  const found = new Set<UserFlag>();
  const unknown: string[] = [];
  const unknownLower = new Set<string>();
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const lower = item.toLowerCase();
    const flag = BY_LOWER.get(lower);
    if (flag !== undefined) found.add(flag);
    else if (!unknownLower.has(lower)) {
      unknownLower.add(lower);
      unknown.push(item);
    }
  }
  if (found.size === 0 && unknown.length === 0) return EMPTY;
  const flags = [...found].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  return Object.freeze({ flags: Object.freeze(flags), unknown: Object.freeze(unknown), normalised: flags.join(',') });
}

/**
 * Parses a `microsoft.userFlags` value: `{flags, unknown, normalised}`. Pure; results are frozen and
 * may be shared between calls.
 */
export function parseUserFlags(text: string): ParsedUserFlags {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const parsed = parse(text);
  if (cache.size >= CACHE_LIMIT) cache.clear(); // bounded: a pathological feed of unique strings cannot grow it
  cache.set(text, parsed);
  return parsed;
}

/** Joins flags in canonical order (the storage form), dropping duplicates. */
export function formatUserFlags(flags: Iterable<UserFlag>): string {
  return [...new Set(flags)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!).join(',');
}
