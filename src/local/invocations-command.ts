/**
 * `dormant invocations describe <invocationId>`: an invocation's status and
 * its journal as a timeline in the terminal, from the deployment's API (the
 * local plane by default), authenticated as `dormant purge` is.
 */
import type { InvocationStatusView } from '../runtime/invocations.ts';
import type { JournalEntryView, JournalView, ShownOutcome } from '../runtime/journal-view.ts';
import { API_OPTIONS_USAGE, apiArguments, oneIdProblem } from './api-client.ts';

/** How `dormant invocations` is used. */
export const INVOCATIONS_USAGE = `usage: dormant invocations describe <invocationId> [--url URL] [--api-key KEY | --iam [--region REGION]]

  an invocation's status, what it awaits, and its journal as a timeline
${API_OPTIONS_USAGE}
             (describe defaults to the local plane, http://localhost:8080)`;

/** Characters of a value shown on a timeline line. */
const PREVIEW_CHARS = 60;

/**
 * Runs `dormant invocations …` with its arguments (after `invocations`);
 * returns the exit code.
 *
 * @example
 * ```ts
 * await invocationsCommand(['describe', 'inv_…', '--url', 'http://localhost:8080']);
 * ```
 */
export async function invocationsCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'describe') {
    out.error(`dormant invocations: ${sub === undefined ? 'name a command' : `no command '${sub}'`}\n\n${INVOCATIONS_USAGE}`);
    return 2;
  }
  const api = apiArguments(rest, env, 'http://localhost:8080');
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
