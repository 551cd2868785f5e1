/**
 * `dormant invocations …`: list them (`list`), an invocation's status and
 * journal as a timeline (`describe`), cancel, kill or restart one, from the
 * deployment's API (the local plane by default), authenticated as
 * `dormant purge` is; and `backfill`, the one-off that lists invocations
 * created before the list index existed (straight on the table).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import type { InvocationStatusView } from '../runtime/invocations.ts';
import type { JournalEntryView, JournalView, ShownOutcome } from '../runtime/journal-view.ts';
import type { InvocationList } from '../runtime/list.ts';
import { backfillListIndex } from '../store/dynamodb.ts';
import { API_OPTIONS_USAGE, apiArguments, oneIdProblem, sendForInvocation } from './api-client.ts';

/** Where the commands look unless told: the local plane. */
const LOCAL_PLANE_URL = 'http://localhost:8080';

/** How `dormant invocations` is used. */
export const INVOCATIONS_USAGE = `usage: dormant invocations list [--service S] [--handler H] [--status S[,S…]] [--key K] [--since T] [--until T] [--limit N] [--cursor C] [--json] [API options]
       dormant invocations describe <invocationId> [API options]
       dormant invocations cancel|kill|restart <invocationId> [API options]
       dormant invocations backfill --table TABLE [--region REGION]

  list       invocations, newest first, a page at a time (statuses: pending,
             scheduled, running, backing-off, suspended, completed, failed;
             times ISO 8601 or epoch ms); --json prints the API's answer
  describe   an invocation's status, what it awaits, and its journal as a timeline
  cancel     asks it to stop (its handler sees a CancelledError and may compensate)
  kill       ends it at once, running none of its code
  restart    starts a failed invocation again from the start with its input (a new id)
  backfill   once, after upgrading a table created before the list index:
             lists the invocations it already holds (a paged Scan of the
             table with your AWS credentials; safe to run again)
${API_OPTIONS_USAGE}
             (default: $DORMANT_API_URL, else the local plane, ${LOCAL_PLANE_URL})`;

/** Characters of a value shown on a timeline line. */
const PREVIEW_CHARS = 60;

const LIST_OPTIONS = {
  service: { type: 'string' },
  handler: { type: 'string' },
  status: { type: 'string' },
  key: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** What cancel, kill and restart send, and how their success reads. */
const ACTIONS: Record<string, { action: string; done: (id: string, answer: Record<string, unknown>) => string }> = {
  cancel: { action: 'cancel', done: (id) => `${id}: cancelling (its handler sees a CancelledError at its next await)` },
  kill: { action: 'kill', done: (id) => `${id}: killed` },
  restart: {
    action: 'restart-as-new',
    done: (id, a) =>
      `${id}: restarted as ${String(a.new_invocation_id)}${a.status === 'PreviouslyAccepted' ? ' (restarted before: the same one)' : ''}`,
  },
};

/**
 * Runs `dormant invocations …` with its arguments (after `invocations`);
 * returns the exit code.
 *
 * @example
 * ```ts
 * await invocationsCommand(['describe', 'inv_…', '--url', 'http://localhost:8080']);
 * await invocationsCommand(['list', '--service', 'review', '--status', 'suspended']);
 * ```
 */
export async function invocationsCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest, env, out);
  if (sub === 'backfill') return backfill(rest, env, out);
  const act = sub === undefined ? undefined : ACTIONS[sub];
  if (act) {
    const command = {
      command: `invocations ${sub}`,
      usage: INVOCATIONS_USAGE,
      method: 'PATCH',
      action: act.action,
      defaultUrl: LOCAL_PLANE_URL,
    };
    const sent = await sendForInvocation(command, rest, env, out);
    if (typeof sent === 'number') return sent;
    if (sent.status >= 200 && sent.status < 300) {
      out.log(act.done(sent.invocationId, JSON.parse(sent.text || '{}') as Record<string, unknown>));
      return 0;
    }
    out.error(`dormant invocations ${sub}: ${sent.invocationId}: ${refusal(sent.status, sent.text)}`);
    return 1;
  }
  if (sub !== 'describe') {
    out.error(`dormant invocations: ${sub === undefined ? 'name a command' : `no command '${sub}'`}\n\n${INVOCATIONS_USAGE}`);
    return 2;
  }
  const api = apiArguments(rest, env, LOCAL_PLANE_URL);
  const problem = oneIdProblem(api);
  if (problem || 'problem' in api) {
    out.error(`dormant invocations describe: ${problem}\n\n${INVOCATIONS_USAGE}`);
    return 2;
  }
  const id = encodeURIComponent(api.positionals[0]!);
  const answers = await Promise.all([
    api.request('GET', `/restate/invocation/${id}`),
    api.request('GET', `/restate/invocation/${id}/journal`),
  ]).catch((error: unknown) => error as Error);
  if (answers instanceof Error) {
    out.error(`dormant invocations describe: ${api.url} did not answer: ${answers.message}`);
    return 1;
  }
  for (const answer of answers) {
    if (answer.status !== 200) {
      out.error(`dormant invocations describe: ${answer.status} ${await answer.text()}`);
      return 1;
    }
  }
  const [status, journal] = [(await answers[0].json()) as InvocationStatusView, (await answers[1].json()) as JournalView];
  out.log(describe(status, journal));
  return 0;
}

/** `dormant invocations list`: one page as a table, and how to get the next. */
async function list(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Pick<Console, 'log' | 'error'>,
): Promise<number> {
  const api = apiArguments(argv, env, LOCAL_PLANE_URL, LIST_OPTIONS);
  if ('problem' in api || api.positionals.length > 0) {
    out.error(
      `dormant invocations list: ${'problem' in api ? api.problem : `unexpected argument '${api.positionals[0]}'`}\n\n${INVOCATIONS_USAGE}`,
    );
    return 2;
  }
  const query = new URLSearchParams();
  for (const name of Object.keys(LIST_OPTIONS)) {
    const value = api.options[name];
    if (typeof value === 'string') query.set(name, value);
  }
  const answer = await api.request('GET', `/restate/invocations${query.size ? `?${query}` : ''}`).catch((error: unknown) => error as Error);
  if (answer instanceof Error) {
    out.error(`dormant invocations list: ${api.url} did not answer: ${answer.message}`);
    return 1;
  }
  const text = await answer.text();
  if (answer.status !== 200) {
    out.error(`dormant invocations list: ${refusal(answer.status, text)}`);
    return answer.status === 400 ? 2 : 1;
  }
  if (api.options.json) {
    out.log(text);
    return 0;
  }
  const page = JSON.parse(text) as InvocationList;
  out.log(listTable(page));
  if (page.cursor) {
    query.set('cursor', page.cursor);
    const flags = [...query].map(([k, v]) => `--${k} '${v}'`).join(' ');
    out.log(`\nmore: dormant invocations list ${flags}`);
  }
  return 0;
}

/**
 * A page of invocations as a table: id, handler (with its key), status,
 * created, attempts, what it awaits.
 *
 * @example
 * ```ts
 * console.log(listTable({ invocations: [row], cursor: null }));
 * ```
 */
export function listTable(page: InvocationList): string {
  if (page.invocations.length === 0) return '(no invocations)';
  const header = ['id', 'handler', 'status', 'created', 'attempts', 'awaiting'];
  const rows = page.invocations.map((r) => [
    r.id,
    `${r.service}${r.key === undefined ? '' : `/${r.key}`}.${r.handler}`,
    r.status,
    r.createdAt,
    String(r.attempts),
    r.awaiting.map((a) => `${a.key}${awaitingDetail(a)}`).join('; '),
  ]);
  const widths = header.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const format = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : clip(cell, widths[i]!).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)].join('\n');
}

/** `dormant invocations backfill --table T`: the list index's one-off backfill, with progress. */
async function backfill(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Pick<Console, 'log' | 'error'>,
): Promise<number> {
  const usage = (problem: string) => {
    out.error(`dormant invocations backfill: ${problem}\n\n${INVOCATIONS_USAGE}`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { table: { type: 'string' }, region: { type: 'string' } } }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (!values.table) return usage('name the table: --table <name> (the stack output TableName)');
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const client = new DynamoDBClient({ ...(region ? { region } : {}) });
  try {
    const done = await backfillListIndex(client, values.table, {
      onPage: (p) => out.log(`  scanned ${p.scanned} items, listed ${p.updated} invocations so far`),
    });
    out.log(
      `dormant invocations backfill: ${done.updated} invocations of ${values.table} added to the list index (${done.scanned} items scanned)`,
    );
    return 0;
  } catch (error) {
    out.error(`dormant invocations backfill: ${values.table}: ${(error as Error).message}`);
    return 1;
  } finally {
    client.destroy();
  }
}

/** A refusal of the API as a sentence: its message, else the status and body. */
function refusal(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return `${body.message} (HTTP ${status})`;
  } catch {
    // not JSON: shown as it is
  }
  return `HTTP ${status} ${text}`;
}

/**
 * The timeline text: a header with the status, what it awaits, then one
 * line per entry, times relative to the invocation's creation.
 *
 * @example
 * ```ts
 * console.log(describe(status, journal));
 * ```
 */
export function describe(status: InvocationStatusView, journal: JournalView): string {
  const created = Date.parse(status.createdAt);
  const since = (iso: string | undefined) => (iso === undefined ? '' : `+${seconds(Date.parse(iso) - created)}`);
  const target = `${status.service}${status.key === undefined ? '' : `/${status.key}`}.${status.handler}`;
  const lines = [
    `${status.id}  ${target}  ${status.status}`,
    `  created ${status.createdAt}, updated ${status.updatedAt}, ${status.attempts} attempt${status.attempts === 1 ? '' : 's'}, ${status.retries} retr${status.retries === 1 ? 'y' : 'ies'}`,
  ];
  if (status.scheduledAt) lines.push(`  scheduled for ${status.scheduledAt}`);
  if (status.nextRetryAt) lines.push(`  next retry at ${status.nextRetryAt}`);
  if (status.lastFailure) lines.push(`  last failure: ${status.lastFailure.name}: ${status.lastFailure.message}`);
  if (status.failure) lines.push(`  failed: ${status.failure.name}: ${status.failure.message}`);
  for (const a of status.awaiting) lines.push(`  awaiting ${a.key}${awaitingDetail(a)}`);
  lines.push('');
  const rows = journal.entries.map((e) => [String(e.index), e.kind, e.name ?? '', since(e.writtenAt), entryText(e, since)]);
  const header = ['#', 'kind', 'name', 'written', 'outcome'];
  const widths = header.map((h, i) => Math.min(30, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const format = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : clip(cell, widths[i]!).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(format(header), ...rows.map(format));
  if (rows.length === 0) lines.push('(no entries yet)');
  return lines.join('\n');
}

function awaitingDetail(a: InvocationStatusView['awaiting'][number]): string {
  if (a.awakeableId) return `: awakeable ${a.awakeableId}`;
  if (a.timerAt) return `: timer at ${a.timerAt}`;
  if (a.callee) return `: result of ${a.callee}`;
  if (a.queuePosition !== undefined) return `: place ${a.queuePosition} in the key's queue${a.lockHeldBy ? ` behind ${a.lockHeldBy}` : ''}`;
  return '';
}

function entryText(e: JournalEntryView, since: (iso: string | undefined) => string): string {
  const parts: string[] = [];
  if (e.outcome) parts.push(outcomeText(e.outcome));
  if (e.callee) parts.push(`→ ${e.callee}`);
  if (e.awakeableId) parts.push(e.awakeableId);
  if (e.wakesAt) parts.push(`until ${e.wakesAt}`);
  if (e.completion) {
    const by = e.completion.by ? ` by ${e.completion.by}` : '';
    parts.push(`${e.completion.how} ${since(e.completion.at)}${by}: ${outcomeText(e.completion)}`);
  } else if (e.kind === 'awakeable' || e.kind === 'sleep' || e.kind === 'call') parts.push('(awaited)');
  return parts.join('  ');
}

function outcomeText(o: ShownOutcome): string {
  if (o.failure) return `${o.failure.name}: ${o.failure.message}`;
  if (o.value === undefined) return '';
  return clip(o.value, PREVIEW_CHARS) + (o.truncated || o.value.length > PREVIEW_CHARS ? ` (${o.bytes} bytes)` : '');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function seconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
