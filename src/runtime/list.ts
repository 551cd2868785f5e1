/**
 * `GET /restate/invocations`: the invocations of this deployment, newest
 * first, a page at a time, from the table's sparse list index (no Scan).
 * The index serves the service and the creation-time window; handler,
 * status and key are applied to each row's `meta` after reading it, with at
 * most {@link MAX_EXAMINED_PER_PAGE} rows examined per page, the cursor
 * carrying on where a page stopped. Costs and limits: docs/table.md,
 * "List index".
 */
import { createHash } from 'node:crypto';
import {
  IngressError,
  statusOf,
  statusView,
  type IngressDeps,
  type InvocationStatusName,
  type InvocationStatusView,
} from './invocations.ts';
import type { InvocationMeta } from '../store/store.ts';

/**
 * One row of a listing.
 *
 * @example
 * ```ts
 * const row: InvocationListRow = { id: 'inv_…', service: 'greeter', handler: 'greet', status: 'completed', createdAt: '…', updatedAt: '…', attempts: 1, awaiting: [] };
 * ```
 */
export type InvocationListRow = Pick<
  InvocationStatusView,
  'id' | 'service' | 'handler' | 'key' | 'status' | 'createdAt' | 'updatedAt' | 'attempts' | 'awaiting'
>;

/**
 * A page of a listing: the rows, and the cursor of the next page (`null`
 * when there is none).
 *
 * @example
 * ```ts
 * const page: InvocationList = { invocations: [], cursor: null };
 * ```
 */
export interface InvocationList {
  invocations: InvocationListRow[];
  cursor: string | null;
}

/**
 * What a listing asks for, as `parseListQuery` reads it from the query string.
 *
 * @example
 * ```ts
 * const q: ListQuery = { service: 'greeter', status: ['suspended'], limit: 20 };
 * ```
 */
export interface ListQuery {
  service?: string | undefined;
  handler?: string | undefined;
  status?: InvocationStatusName[] | undefined;
  key?: string | undefined;
  /** Created at or after, epoch ms. */
  since?: number | undefined;
  /** Created at or before, epoch ms. */
  until?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Rows per page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

/**
 * The most index rows one page examines when handler, status or key filter
 * them: a page may come back short (even empty) with a cursor, and the next
 * carries on. Bounds what one request reads (its units and its time).
 */
export const MAX_EXAMINED_PER_PAGE = 500;

const STATUSES: readonly InvocationStatusName[] = ['pending', 'scheduled', 'running', 'backing-off', 'suspended', 'completed', 'failed'];
const PARAMETERS = new Set(['service', 'handler', 'status', 'key', 'since', 'until', 'limit', 'cursor']);

/**
 * Reads a listing's query string, refusing (400, naming the parameter) what
 * it cannot mean: an unknown parameter, an unknown status, a time that is
 * neither ISO 8601 nor epoch milliseconds, a limit outside 1–100.
 *
 * @example
 * ```ts
 * parseListQuery({ service: 'greeter', status: 'suspended,pending', since: '2026-12-08T00:00:00Z' })
 * // { service: 'greeter', status: ['suspended', 'pending'], since: 1796774400000, limit: 20 }
 * ```
 */
export function parseListQuery(query: Readonly<Record<string, string | undefined>> | null | undefined): ListQuery {
  const q = query ?? {};
  for (const name of Object.keys(q)) {
    if (!PARAMETERS.has(name)) {
      throw new IngressError(400, 'invalid_parameter', `unknown parameter '${name}'; a listing takes ${[...PARAMETERS].join(', ')}`, {
        parameter: name,
      });
    }
  }
  const text = (name: string): string | undefined => {
    const value = q[name];
    if (value === undefined) return undefined;
    if (value === '') throw invalid(name, `?${name}= is empty; leave it out to list every ${name}`);
    return value;
  };
  const status = text('status')
    ?.split(',')
    .map((s) => s.trim());
  for (const s of status ?? []) {
    if (!STATUSES.includes(s as InvocationStatusName)) throw invalid('status', `unknown status '${s}'; one of ${STATUSES.join(', ')}`);
  }
  const since = time(text('since'), 'since');
  const until = time(text('until'), 'until');
  if (since !== undefined && until !== undefined && since > until) throw invalid('since', 'since is after until');
  const limitText = text('limit');
  const limit = limitText === undefined ? DEFAULT_LIST_LIMIT : Number(limitText);
  if (!/^\d+$/.test(limitText ?? '1') || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw invalid('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got '${limitText}'`);
  }
  return {
    service: text('service'),
    handler: text('handler'),
    status: status as InvocationStatusName[] | undefined,
    key: text('key'),
    since,
    until,
    limit,
    cursor: text('cursor'),
  };
}

/**
 * A page of invocations, newest first. Without `service`, every service of
 * this deployment's catalog is listed (an invocation of a service since
 * removed is found by naming it). What a row awaits names capabilities and
 * other invocations only with `reveal`, as a status does.
 *
 * @example
 * ```ts
 * const page = await listInvocations(deps, parseListQuery({ service: 'greeter' }));
 * const next = page.cursor && (await listInvocations(deps, { ...parseListQuery({ service: 'greeter' }), cursor: page.cursor }));
 * ```
 */
export async function listInvocations(
  deps: Pick<IngressDeps, 'store' | 'catalog'>,
  query: ListQuery,
  options: { reveal?: boolean } = {},
): Promise<InvocationList> {
  const services = query.service !== undefined ? [query.service] : Object.keys(deps.catalog).sort();
  const fingerprint = queryFingerprint(query);
  let before = query.cursor === undefined ? undefined : openCursor(query.cursor, fingerprint);
  const filtered = query.handler !== undefined || query.status !== undefined || query.key !== undefined;
  const found: InvocationMeta[] = [];
  let examined = 0;
  for (;;) {
    const want = query.limit - found.length;
    // Filtered rows: read ahead, since many may be passed over (within the cap).
    const limit = Math.min(MAX_EXAMINED_PER_PAGE - examined, filtered ? Math.max(2 * want, 25) : want);
    const { rows, more } = await deps.store.listIndex({ services, since: query.since, until: query.until, before, limit });
    examined += rows.length;
    const metas = new Map((await deps.store.getInvocations(rows.map((r) => r.id))).map((m) => [m.id, m]));
    for (const row of rows) {
      before = row.position;
      const meta = metas.get(row.id); // gone since (purged, expired): its index row goes with it
      if (meta && matches(meta, query)) found.push(meta);
      if (found.length === query.limit) break;
    }
    // Nothing after the last row consumed: this is the last page.
    const done = rows.length === 0 || (!more && before === rows.at(-1)?.position);
    if (done || found.length === query.limit || examined >= MAX_EXAMINED_PER_PAGE) {
      const invocations = await Promise.all(found.map((meta) => statusView(deps, meta, options).then(row)));
      return { invocations, cursor: done || before === undefined ? null : sealCursor(before, fingerprint) };
    }
  }
}

function matches(meta: InvocationMeta, query: ListQuery): boolean {
  return (
    (query.handler === undefined || meta.handler === query.handler) &&
    (query.key === undefined || meta.key === query.key) &&
    (query.status === undefined || query.status.includes(statusOf(meta)))
  );
}

function row(view: InvocationStatusView): InvocationListRow {
  const { id, service, handler, key, status, createdAt, updatedAt, attempts, awaiting } = view;
  return { id, service, handler, key, status, createdAt, updatedAt, attempts, awaiting };
}

/** The filters a cursor was made under: a cursor carried to another query is refused, not misread. */
function queryFingerprint(query: ListQuery): string {
  const { service, handler, status, key, since, until } = query;
  return digest(JSON.stringify([service, handler, status, key, since, until])).slice(0, 16);
}

/** `<position, base64url>.<check>`: opaque to callers; a changed character fails the check. */
function sealCursor(position: string, fingerprint: string): string {
  const body = Buffer.from(position, 'utf8').toString('base64url');
  return `${body}.${digest(`${body}.${fingerprint}`).slice(0, 22)}`;
}

function openCursor(cursor: string, fingerprint: string): string {
  const [body, check, ...rest] = cursor.split('.');
  const position = body === undefined ? '' : Buffer.from(body, 'base64url').toString('utf8');
  if (rest.length > 0 || check !== digest(`${body}.${fingerprint}`).slice(0, 22) || !/^\d{15}#inv_[A-Za-z0-9_-]+$/.test(position)) {
    throw invalid(
      'cursor',
      'the cursor was altered, or belongs to a listing with other filters; pass it back unchanged with the same filters, or start again without it',
    );
  }
  return position;
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

function time(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw invalid(name, `${name} must be an ISO 8601 time (2026-12-08T00:00:00Z) or epoch milliseconds, got '${text}'`);
  }
  return ms;
}

function invalid(parameter: string, message: string): IngressError {
  return new IngressError(400, 'invalid_parameter', `invalid ?${parameter}=: ${message}`, { parameter });
}
