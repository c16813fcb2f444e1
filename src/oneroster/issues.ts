/**
 * Expected data problems are values, not throws (DESIGN.md "Conventions").
 * Every reader, validator and sync step reports what was wrong with which record and field
 * through this one shape, so run reports, CLI output and the web console can show the same rows.
 */
export type Severity = 'error' | 'warning';

export interface DataIssue {
  /** `error`: the record is dropped (quarantined). `warning`: the value is dropped or fixed, the record kept. */
  severity: Severity;
  /** Stable rule code, kebab-case, e.g. `required-field`, `invalid-enum`, `dangling-reference`. */
  rule: string;
  /** Collection the record came from, e.g. `users`. */
  entity: string;
  /** sourcedId of the record, when it has one. */
  sourcedId?: string;
  /** Dotted field path, e.g. `orgs[0].sourcedId` or `metadata.microsoft.userFlags`. */
  field?: string;
  /** The offending value, shortened to at most 200 characters. Never a secret. */
  value?: string;
  /** A sentence an admin can act on. Names the rule, not the person (no names or emails). */
  message: string;
}
