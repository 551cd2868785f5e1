/**
 * An invocation's journal as an operator reads it
 * (`GET /restate/invocation/{id}/journal`, `dormant invocations describe`):
 * each entry in order with when it was written and its outcome, and for what
 * it awaited, when and how that completed and by whom.
 */
import type { Failure } from '../api/errors.ts';
import { completionKey } from '../store/keys.ts';
import type { Completion, JournalEntry } from '../store/store.ts';
import { getStatus, type IngressDeps, type InvocationStatusView } from './invocations.ts';

/** Characters of a value shown before it is cut (its full size is given). */
export const MAX_SHOWN_VALUE_CHARS = 2_048;

/**
 * A value or failure as the journal shows it: the serialized text (cut past
 * {@link MAX_SHOWN_VALUE_CHARS}, with its full size in bytes), or the failure.
 *
 * @example
 * ```ts
 * const o: ShownOutcome = { value: '{"approved":true}', bytes: 17 };
 * ```
 */
export interface ShownOutcome {
  value?: string | undefined;
  failure?: Failure | undefined;
  /** Size of the whole serialized value, UTF-8 bytes. */
  bytes?: number | undefined;
  /** The value was cut at {@link MAX_SHOWN_VALUE_CHARS} characters. */
  truncated?: true | undefined;
}

/**
 * One journal entry as shown.
 *
 * @example
 * ```ts
 * const e: JournalEntryView = { index: 0, kind: 'awakeable', writtenAt: '2026-12-07T10:00:00.000Z',
 *   completion: { at: '2026-12-07T10:05:00.000Z', how: 'resolved', by: 'ingress', value: '"ok"', bytes: 4 } };
 * ```
 */
export interface JournalEntryView {
  index: number;
  kind: JournalEntry['kind'];
  /** The step's name, the callee's `service.handler`, the state key, the promise name… */
  name?: string | undefined;
  /** When it was written (absent on entries written before the runtime recorded it). */
  writtenAt?: string | undefined;
  /** What the entry recorded (a step's result, a state value…). */
  outcome?: ShownOutcome | undefined;
  /** An awakeable's id (a capability: shown only to the deployment's owner). */
  awakeableId?: string | undefined;
  /** The invocation a call or send started (shown only to the owner). */
  callee?: string | undefined;
  /** A sleep's due time. */
  wakesAt?: string | undefined;
  /** For what the entry awaits: when and how it completed, and by whom; absent while it is still awaited. */
  completion?: (ShownOutcome & { at: string; how: CompletionHow; by?: string | undefined }) | undefined;
}

/**
 * How an awaited entry completed.
 *
 * @example
 * ```ts
 * const how: CompletionHow = 'rejected';
 * ```
 */
export type CompletionHow = 'resolved' | 'rejected' | 'fired' | 'completed' | 'failed';

/**
 * The journal answer: the invocation's status and its entries in order.
 *
 * @example
 * ```ts
 * const { status, entries } = await getJournal(deps, 'inv_…');
 * ```
 */
export interface JournalView {
  invocationId: string;
  status: InvocationStatusView['status'];
  entries: JournalEntryView[];
}

/** Kinds whose entry awaits the completion at its own index (`C#` + index). */
const AWAITED: ReadonlySet<JournalEntry['kind']> = new Set(['awakeable', 'webhook', 'event-await', 'sleep', 'call']);

/**
 * Reads an invocation's journal: one status read and one Query of its
 * partition (the same the attempt's load makes). Capabilities and other
 * invocations' ids are shown only with `reveal` (DESIGN rule 10), as in the
 * status.
 *
 * @example
 * ```ts
 * const view = await getJournal({ store }, 'inv_…', { reveal: true });
 * view.entries[0].completion?.how // 'resolved'
 * ```
 */
export async function getJournal(
  deps: Pick<IngressDeps, 'store'>,
  invocationId: string,
  options: { reveal?: boolean } = {},
): Promise<JournalView> {
  const reveal = options.reveal ?? true;
  const status = await getStatus(deps, invocationId, { reveal }); // 400 or 404 first
  const loaded = await deps.store.load(invocationId);
  const entries = [...loaded.journal.values()]
    .sort((a, b) => a.index - b.index)
    .map((entry) => view(entry, AWAITED.has(entry.kind) ? loaded.completions.get(completionKey(entry.index)) : undefined, reveal));
  return { invocationId, status: status.status, entries };
}

function view(entry: JournalEntry, completion: Completion | undefined, reveal: boolean): JournalEntryView {
  const capability = entry.kind === 'resolve-awakeable' || entry.kind === 'reject-awakeable';
  const started = entry.kind === 'call' || entry.kind === 'send';
  return {
    index: entry.index,
    kind: entry.kind,
    // A resolve/reject entry is named by the awakeable id it completed: a capability.
    name: capability && !reveal ? undefined : entry.name,
    writtenAt: entry.writtenAt === undefined ? undefined : new Date(entry.writtenAt).toISOString(),
    outcome: started || (entry.value === undefined && entry.failure === undefined) ? undefined : shown(entry.value, entry.failure),
    awakeableId: entry.kind === 'awakeable' && reveal ? entry.id : undefined,
    callee: started && reveal ? entry.value : undefined,
    wakesAt: entry.kind === 'sleep' && entry.at !== undefined ? new Date(entry.at).toISOString() : undefined,
    completion: completion
      ? {
          at: new Date(completion.at).toISOString(),
          how: how(entry.kind, completion),
          by: completedBy(entry.kind, completion, reveal),
          ...shown(completion.value, completion.failure),
        }
      : undefined,
  };
}

function how(kind: JournalEntry['kind'], completion: Completion): CompletionHow {
  if (kind === 'sleep') return 'fired';
  if (kind === 'call') return completion.failure ? 'failed' : 'completed';
  return completion.failure ? 'rejected' : 'resolved';
}

/** Who completed it: another invocation's entry (`by`), the timer, the callee, or the ingress (a webhook or client). */
function completedBy(kind: JournalEntry['kind'], completion: Completion, reveal: boolean): string | undefined {
  if (kind === 'sleep') return 'timer';
  if (kind === 'call') return 'callee';
  if (completion.by?.startsWith('event#')) return `event ${completion.by.split('#').slice(2).join('#')}`;
  if (completion.by?.startsWith('webhook#')) return 'webhook';
  if (completion.by) return reveal ? `invocation ${completion.by.split('#')[0]}` : 'another invocation';
  return 'ingress';
}

function shown(value: string | undefined, failure: Failure | undefined): ShownOutcome {
  if (failure) return { failure };
  if (value === undefined) return {};
  const bytes = Buffer.byteLength(value, 'utf8');
  return value.length > MAX_SHOWN_VALUE_CHARS ? { value: value.slice(0, MAX_SHOWN_VALUE_CHARS), bytes, truncated: true } : { value, bytes };
}
