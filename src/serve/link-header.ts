/**
 * RFC 5988 `Link` header for paged collection responses (spec notes §2.4): rel `first`, `prev`,
 * `next`, `last`, each URL keeping every other query parameter exactly as the client sent it
 * (filter, sort, fields…) and replacing `limit`/`offset`. `next` is omitted on the last page and
 * `prev` on the first.
 */

export interface PageLinks {
  first: number;
  prev?: number;
  next?: number;
  last: number;
}

/**
 * Offsets of the neighbouring pages. `last` is aligned to the current offset, so following
 * `next` from here lands on it exactly.
 */
export function pageOffsets(offset: number, limit: number, total: number): PageLinks {
  const step = Math.max(1, limit);
  let last: number;
  if (total <= 0) last = 0;
  else if (offset < total) last = offset + Math.floor((total - 1 - offset) / step) * step;
  else last = Math.floor((total - 1) / step) * step;
  const links: PageLinks = { first: 0, last };
  if (offset > 0) links.prev = Math.max(0, offset - step);
  if (offset + step < total) links.next = offset + step;
  return links;
}

/**
 * Percent-encodes what must not appear raw inside `<…>` of a Link header (a lenient client may
 * send `>` or `'` unencoded in its request line): controls, space, `"<>\\^`{|}` and non-ASCII.
 * Existing `%XX` escapes are left alone.
 */
function linkSafe(segment: string): string {
  return segment.replace(/[^\x21\x23-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7e]/gu, (c) => encodeURIComponent(c));
}

/**
 * The raw query segments other than `limit`, `offset` and OAuth 1 protocol parameters (`oauth_*`
 * sent in the query are single-use; a link carrying them would be a replay), encoded as the
 * client sent them.
 */
export function otherQuerySegments(rawQuery: string): string[] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((seg) => {
      if (seg === '') return false;
      const eq = seg.indexOf('=');
      const name = eq === -1 ? seg : seg.slice(0, eq);
      return name !== 'limit' && name !== 'offset' && !name.startsWith('oauth_');
    })
    .map(linkSafe);
}

/**
 * Builds the `Link` header value.
 * @param baseUrl absolute URL of the collection without query, e.g. `http://h/ims/oneroster/v1p1/users`
 * @param rawQuery the request's query string without `?`, as received
 */
export function buildLinkHeader(baseUrl: string, rawQuery: string, offset: number, limit: number, total: number): string {
  const others = otherQuerySegments(rawQuery);
  const prefix = others.length === 0 ? '' : `${others.join('&')}&`;
  const url = (o: number): string => `<${baseUrl}?${prefix}limit=${limit}&offset=${o}>`;
  const links = pageOffsets(offset, limit, total);
  const parts = [`${url(links.first)}; rel="first"`];
  if (links.prev !== undefined) parts.push(`${url(links.prev)}; rel="prev"`);
  if (links.next !== undefined) parts.push(`${url(links.next)}; rel="next"`);
  parts.push(`${url(links.last)}; rel="last"`);
  return parts.join(', ');
}
