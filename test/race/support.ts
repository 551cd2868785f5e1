/**
 * Controllable interleavings for race tests, after Powertools' `sequence()`:
 * a store wrapper whose chosen calls wait at a gate until the test opens it,
 * so two attempts, a resolver and the wake rule run in a fixed order against
 * a real store. Plus the backends (DynamoDB Local with its real stream, and
 * the in-memory store), the engine and ingress set up on one for a suite,
 * and a waker that feeds each stream record to `decideWake` at the moment it
 * would have arrived.
 */
import { afterAll, beforeAll } from 'vitest';
import type { AnyDefinition } from '../../src/api/definitions.ts';
import { runAttempt, type AttemptDeps, type AttemptOutcome, type AttemptRequest } from '../../src/engine/attempt.ts';
import { IdSigner } from '../../src/engine/ids.ts';
import type { IngressDeps } from '../../src/runtime/invocations.ts';
import { catalogOf, registry } from '../../src/runtime/registry.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { invocationPk } from '../../src/store/keys.ts';
import type { ItemChange, Store } from '../../src/store/store.ts';
import { decideWake, type WakeAction } from '../../src/runtime/wake.ts';
import { openTable, type CapacityLedger, type LocalTable } from '../contract/harness.ts';
import { interceptCalls } from '../support/intercept.ts';
import { TestClock } from '../../src/testing/index.ts';

/**
 * A call held at a gate: `reached` resolves (with the call's arguments) when
 * the call arrives; `open()` lets it through.
 *
 * @example
 * ```ts
 * const gate = gates.hold('suspend');
 * const attempt = runAttempt(deps, req);
 * await gate.reached; // the attempt is about to suspend
 * await resolveAwakeable(ingress, id, '"yes"');
 * gate.open();
 * ```
 */
export interface Gate {
  reached: Promise<unknown[]>;
  open(): void;
}

/**
 * Wraps a store so chosen calls wait at gates.
 *
 * @example
 * ```ts
 * const gates = new Gates(store);
 * const deps = { ...deps, store: gates.store };
 * const held = gates.hold('append', (id, entry) => entry.index === 0);
 * ```
 */
export class Gates<S extends object = Store> {
  readonly store: S;
  readonly #holds: {
    method: string;
    when: (...args: any[]) => boolean;
    phase: 'before' | 'after';
    arrive: (args: unknown[]) => void;
    opened: Promise<void>;
  }[] = [];

  constructor(target: S) {
    this.store = interceptCalls(target, async (method, args, call) => {
      const before = this.#take(method, args, 'before');
      if (before) await before;
      const result = await call();
      const after = this.#take(method, args, 'after');
      if (after) await after;
      return result;
    });
  }

  /** Holds the next call of `method` whose arguments satisfy `when`, before it is sent (or after it returned). */
  hold(method: keyof S & string, when: (...args: any[]) => boolean = () => true, phase: 'before' | 'after' = 'before'): Gate {
    let arrive!: (args: unknown[]) => void;
    let open!: () => void;
    const reached = new Promise<unknown[]>((resolve) => (arrive = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.#holds.push({ method, when, phase, arrive, opened });
    return { reached, open };
  }

  #take(method: string, args: unknown[], phase: 'before' | 'after'): Promise<void> | undefined {
    const i = this.#holds.findIndex((h) => h.method === method && h.phase === phase && h.when(...args));
    if (i < 0) return undefined;
    const [hold] = this.#holds.splice(i, 1);
    hold!.arrive(args);
    return hold!.opened;
  }
}

/**
 * A store under race, with its change feed (the real stream on DynamoDB Local).
 *
 * @example
 * ```ts
 * for (const open of BACKENDS) describe(open.label, () => { … });
 * ```
 */
export interface Backend {
  store: Store;
  changes(pk: string, done?: (changes: ItemChange[]) => boolean): Promise<ItemChange[]>;
  ledger?: CapacityLedger;
  close(): Promise<void>;
}

/**
 * A backend on a fresh DynamoDB Local table: its store, its real stream, and
 * the capacity its requests consumed.
 *
 * @example
 * ```ts
 * const backend = tableBackend(await openTable('units'));
 * backend.ledger.take();
 * ```
 */
export function tableBackend(table: LocalTable): Backend & { ledger: CapacityLedger } {
  return { store: table.store, changes: (pk, done) => table.feed.of(pk, done), ledger: table.ledger, close: () => table.close() };
}

/** The backends race tests run on. */
export const BACKENDS: { label: string; open: () => Promise<Backend> }[] = [
  {
    label: 'DynamoDB Local',
    open: async () => tableBackend(await openTable('race')),
  },
  {
    label: 'memory',
    open: async () => {
      const store = new MemoryStore();
      const all: ItemChange[] = [];
      store.onChange((c) => all.push(c));
      return {
        store,
        changes: async (pk, done = () => true) => {
          const mine = all.filter((c) => c.pk === pk);
          if (!done(mine)) throw new Error(`the change feed of ${pk} does not hold what the test waits for`);
          return mine;
        },
        close: async () => undefined,
      };
    },
  },
];

/**
 * The wake role, one record at a time: each new record of an invocation's
 * partition goes to `decideWake` (with the store as its reader) when the test
 * says the wake Lambda would see it.
 *
 * @example
 * ```ts
 * const waker = new Waker(backend);
 * const actions = await waker.drain(id, (c) => c.some((x) => x.sk === 'C#00000000'));
 * ```
 */
export class Waker {
  readonly #seen = new Map<string, number>();
  constructor(private readonly backend: Backend) {}

  /** Decides every record of `invocationId` not decided yet, once the feed satisfies `done`. */
  async drain(invocationId: string, done: (changes: ItemChange[]) => boolean = () => true): Promise<WakeAction[]> {
    const pk = invocationPk(invocationId);
    const changes = await this.backend.changes(pk, done);
    const from = this.#seen.get(pk) ?? 0;
    this.#seen.set(pk, changes.length);
    const actions: WakeAction[] = [];
    for (const change of changes.slice(from)) actions.push(...(await decideWake(change, this.backend.store)));
    return actions;
  }

  /** Every record of `invocationId` so far, decided again (a late or duplicated delivery of all of them). */
  async redeliverAll(invocationId: string): Promise<WakeAction[]> {
    const actions: WakeAction[] = [];
    for (const change of await this.backend.changes(invocationPk(invocationId)))
      actions.push(...(await decideWake(change, this.backend.store)));
    return actions;
  }
}

/** Invokes among wake actions. */
export function invokes(actions: WakeAction[]): Extract<WakeAction, { type: 'invoke' }>[] {
  return actions.filter((a): a is Extract<WakeAction, { type: 'invoke' }> => a.type === 'invoke');
}

export const SIGNER = new IdSigner('race-test-signing-key-0123456789');

/**
 * The engine (`runAttempt`'s deps) and the ingress core on one backend,
 * serving a suite's definitions, with a clock the test moves.
 *
 * @example
 * ```ts
 * const rt = useBackend(open, [approval]);
 * it('…', async () => {
 *   const { invocationId } = await startInvocation(rt.ingress, { service: 'approval', handler: 'request', body: '' });
 *   await runAttempt(rt.deps, { invocationId, epoch: 0 });
 * });
 * ```
 */
export interface BackendRuntime<B extends Backend = Backend> {
  backend: B;
  clock: TestClock;
  deps: AttemptDeps;
  ingress: IngressDeps;
}

/**
 * Opens a backend before the suite's tests and closes it after them; the
 * returned object is filled in by that `beforeAll`, so read its fields inside
 * hooks and tests, not while the suite is being collected.
 *
 * @example
 * ```ts
 * describe.each(BACKENDS)('rule 2 on $label', ({ open }) => {
 *   const rt = useBackend(open, [approval], { leaseMs: 60_000 });
 *   it('…', async () => expect(await rt.backend.store.getInvocation('inv_x')).toBeUndefined());
 * });
 * ```
 */
export function useBackend<B extends Backend>(
  open: () => Promise<B>,
  definitions: AnyDefinition[],
  options: Partial<AttemptDeps> = {},
): BackendRuntime<B> {
  const rt = {} as BackendRuntime<B>;
  beforeAll(async () => {
    const backend = await open();
    // Real time: DynamoDB Local acts on the TTLs the items carry.
    const clock = new TestClock(Date.now());
    const services = registry(definitions);
    rt.backend = backend;
    rt.clock = clock;
    rt.deps = { store: backend.store, signer: SIGNER, clock, services, ...options };
    rt.ingress = { store: backend.store, signer: SIGNER, clock, catalog: catalogOf(services) };
  });
  afterAll(async () => {
    // Unset if opening failed; that failure is the one to report.
    await rt.backend?.close();
  });
  return rt;
}

/** An attempt's outcome, or `lease-held`: refused because another attempt runs under a live lease (Lambda retries such an invoke). */
export type RaceOutcome = AttemptOutcome | { kind: 'lease-held'; invocationId: string };

/**
 * Runs one attempt as the handler Lambda would, turning a `LeaseHeldError`
 * (the invoke fails so that Lambda retries it later) into an outcome.
 *
 * @example
 * ```ts
 * const outcomes = await Promise.all(wakeUps.map((w) => attempt(deps, w)));
 * ```
 */
export async function attempt(deps: AttemptDeps, request: AttemptRequest): Promise<RaceOutcome> {
  try {
    return await runAttempt(deps, request);
  } catch (error) {
    if ((error as { name?: unknown }).name === 'LeaseHeldError') return { kind: 'lease-held', invocationId: request.invocationId };
    throw error;
  }
}
