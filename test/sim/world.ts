/**
 * The simulated deployment: the real runtime code (`runAttempt`, `decideWake`
 * and `executeWake`, the ingress core) over a `MemoryStore`, with the managed
 * AWS parts modelled as the scheduler's jobs:
 *
 * - **Lambda async invoke** of the handler: an attempt; a crash or timeout is
 *   retried twice (about 1 and 2 minutes later), then goes to the on-failure
 *   destination: a recovery message.
 * - **DynamoDB stream**: every change (through the wake's real event filters)
 *   becomes a wake of its own, after a delay; records may be duplicated,
 *   delayed and reordered; a crashed wake is retried like a stream batch.
 * - **SQS**: timer messages (scheduled by the wake, fired when virtual time
 *   passes) and recovery messages (re-read `meta`, re-invoke what is
 *   runnable; as the timer role, `src/runtime/timer.ts`, does), both at least once.
 * - **Clients**: ingress requests (starts, resolves, rejects) retried after a
 *   crash, as an HTTP client retries a 5xx.
 *
 * Faults (crash before or after a call, zombie pauses past the lease,
 * duplicates, delays) are drawn from the seed during the faulty phase; then a
 * calm phase drains everything to quiescence.
 */
import { deliverWebhook } from '../../src/runtime/webhooks.ts';
import { checkEndpoints, publishEvent, type EndpointDeps } from '../../src/runtime/endpoints.ts';
import { github } from '../../src/api/verifiers.ts';
import {
  IdSigner,
  IngressError,
  MemoryStore,
  cancelInvocation,
  catalogOf,
  decideWake,
  executeWake,
  registry,
  rejectAwakeable,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  type AttemptDeps,
  type AttemptOutcome,
  type ItemChange,
  type JournalEntry,
  type Store,
  type Timer,
} from 'dormant-lambda/internal';
import { passesWakeFilter } from '../../src/local/event-filter.ts';
import { META, invocationIdOf } from '../../src/store/keys.ts';
import { invokePayload, type Dispatch, type InvokePayload, type WakeTarget } from '../../src/runtime/dispatch.ts';
import { wakeDirectly } from '../../src/runtime/direct-wake.ts';
import { recover } from '../../src/runtime/timer.ts';
import type { Prng } from './prng.ts';
import { Actor, Scheduler, SimClock, type ActorKind, type ParkedCall } from './scheduler.ts';
import { definitions, type EventSpec, type InvocationSpec, type ResolverSpec, type SimHooks, type Workload } from './workload.ts';

/** The wake rule, replaceable so a test can break it on purpose. */
export type DecideWake = typeof decideWake;

/**
 * Fault rates of a run. Zero everywhere is the fault-free reference run.
 *
 * @example
 * ```ts
 * const faults = drawFaults(new Prng(1).fork('faults'));
 * ```
 */
export interface Faults {
  /** Chance that an actor crashes just before a call (and again, just after a write). */
  crash: number;
  /** Chance that an attempt stalls past its lease at a call (a zombie). */
  zombie: number;
  /** Chance that a stream record is delivered twice. */
  dupRecord: number;
  /** Chance that a stream record is delayed by seconds. */
  delayRecord: number;
  /** Chance that Lambda delivers an async invoke twice. */
  dupInvoke: number;
  /** Chance that SQS delivers a message twice. */
  dupMessage: number;
  /** Chance that a client repeats a start it already got an answer to. */
  dupStart: number;
  /**
   * Chance that an attempt stalls at a journal append until the next attempt
   * reaches the same entry, and then writes it first: the newer attempt loses
   * the entry to a zombie and must end `lost` (handed back, no retry).
   */
  steal: number;
  /**
   * Chance that a writer using the direct wake (a start, a resolve, a
   * cancel, a timer) crashes between its completion write and its invoke:
   * only the table's stream is left to wake the invocation.
   */
  crashBeforeDirectWake: number;
  /** At most this many crashes per run. */
  maxCrashes: number;
  /** Faults are injected during the first this-many scheduling events. */
  faultyEvents: number;
}

/** The fault-free reference run. */
export const NO_FAULTS: Faults = {
  crash: 0,
  zombie: 0,
  dupRecord: 0,
  delayRecord: 0,
  dupInvoke: 0,
  dupMessage: 0,
  dupStart: 0,
  steal: 0,
  crashBeforeDirectWake: 0,
  maxCrashes: 0,
  faultyEvents: 0,
};

/**
 * Draws fault rates for a seed. `steal` comes from a stream of its own
 * (`extras`), so the other rates, and the kept seeds, stay as they were.
 *
 * @example
 * ```ts
 * drawFaults(rng).crash // 0.02, 0.05 or 0.1
 * ```
 */
export function drawFaults(rng: Prng, extras?: Prng): Faults {
  return {
    steal: extras?.pick([0, 0.1, 0.3]) ?? 0,
    crashBeforeDirectWake: extras?.pick([0, 0.2, 0.5]) ?? 0,
    crash: rng.pick([0.02, 0.05, 0.1]),
    zombie: rng.pick([0, 0.02, 0.05, 0.1]),
    dupRecord: rng.pick([0.05, 0.15, 0.3]),
    delayRecord: rng.pick([0, 0.1, 0.2]),
    dupInvoke: rng.pick([0, 0.05, 0.15]),
    dupMessage: rng.pick([0, 0.1]),
    dupStart: rng.pick([0, 0.2]),
    maxCrashes: rng.between(2, 12),
    faultyEvents: rng.between(100, 600),
  };
}

/** A broken invariant. */
export interface Violation {
  kind: string;
  detail: string;
}

/** The final answer an ingress resolver got. */
export interface ResolverAnswer {
  status: number;
  code: string;
  details?: Record<string, unknown> | undefined;
}

/** One ingress resolve or reject, retried by its client until it gets an answer. */
export interface ResolverRun {
  owner: string;
  slot: string;
  spec: ResolverSpec;
  awakeableId: string;
  tries: number;
  answer?: ResolverAnswer;
}

/** Counters for the summary. */
export interface WorldStats {
  events: number;
  attempts: number;
  crashes: number;
  /** Crashes between a completion write and its direct wake. */
  directWakeCrashes: number;
  /** Direct wakes sent (starts, resolves, cancels, timers). */
  directWakes: number;
  zombies: number;
  dupRecords: number;
  dupInvokes: number;
  recoveries: number;
  /** Attempts Lambda killed at the function timeout. */
  timeouts: number;
  /** Invokes that found a live lease and failed so Lambda retries them. */
  leaseHeld: number;
  /** Invokes that reached a version other than their invocation's pin (failed, so recovery invokes the pin). */
  pinnedElsewhere: number;
  steps: number;
  outcomes: Record<string, number>;
  /** Journal entries a zombie wrote just before a newer attempt's append of them, by entry kind. */
  steals: Record<string, number>;
}

type JobKind = 'record' | 'invoke' | 'timer' | 'recover' | 'resolve' | 'start' | 'resume' | 'cancel' | 'publish';

interface Job {
  seq: number;
  at: number;
  kind: JobKind;
  describe: () => string;
  fire: () => void;
}

/**
 * The store port's reads; every other method of the store is a write. Taken
 * from the store itself, so operations added to the port are covered.
 */
const STORE_READS = new Set<string>([
  'getInvocation',
  'load',
  'getCompletion',
  'getEntry',
  'promiseWaiters',
  'findEvents',
  'eventWaiters',
  'existingCompletions',
  'readState',
  'readLock',
] satisfies (keyof Store)[]);
const STORE_OPS: string[] = Object.getOwnPropertyNames(MemoryStore.prototype).filter(
  (name) =>
    name !== 'constructor' &&
    name !== 'onChange' &&
    name !== 'items' &&
    typeof (MemoryStore.prototype as unknown as Record<string, unknown>)[name] === 'function',
);

const EPOCH = Date.UTC(2026, 0, 1);
/** The endpoint `eventWait` waits on: events published by the owner (`POST /restate/events/sim`), kept an hour. */
const SIM_ENDPOINTS = checkEndpoints({
  sim: { verify: github({ secret: 'SIM_UNUSED' }), correlate: ['body.tag'], lookback: { hours: 1 } },
});
/** lambdaHandler's lease beyond the Lambda deadline. */
const LEASE_MARGIN_MS = 2_000;
const SIGNING_KEY = 'simulator-signing-key-0123456789';

/** Options of a world. */
export interface WorldOptions {
  workload: Workload;
  faults: Faults;
  /** Scheduling choices. */
  rng: Prng;
  decideWake?: DecideWake;
  /** Receives a line per event when set. */
  trace?: ((line: string) => void) | undefined;
  /** Give up (a violation) after this many events. */
  maxEvents?: number;
  /**
   * When deploys of new handler code happen, ms after the start: each
   * publishes a version and moves the alias to it (rule 12). Time alone
   * decides the alias, so deploys draw nothing from the schedule.
   */
  deploys?: readonly number[];
}

/**
 * One run of a workload.
 *
 * @example
 * ```ts
 * const world = new World({ workload, faults, rng: new Prng(seed).fork('schedule') });
 * await world.run();
 * ```
 */
export class World implements SimHooks {
  readonly store = new MemoryStore();
  readonly clock = new SimClock(EPOCH);
  readonly sched = new Scheduler();
  readonly signer = new IdSigner(SIGNING_KEY);
  readonly violations: Violation[] = [];
  readonly stats: WorldStats = {
    events: 0,
    attempts: 0,
    crashes: 0,
    directWakeCrashes: 0,
    directWakes: 0,
    zombies: 0,
    dupRecords: 0,
    dupInvokes: 0,
    recoveries: 0,
    timeouts: 0,
    leaseHeld: 0,
    pinnedElsewhere: 0,
    steps: 0,
    outcomes: {},
    steals: {},
  };
  /** Every invocation of the run, the workload's and the relays started on the way. */
  readonly specs: InvocationSpec[];
  /** Invocation id by label, from the ingress answers. */
  readonly ids = new Map<string, string>();
  /** Awakeable id sent out, by `tag/slot`. */
  readonly sent = new Map<string, string>();
  readonly resolverRuns: ResolverRun[] = [];
  /** Events whose publisher got its answer. */
  readonly published: { owner: string; event: EventSpec }[] = [];
  /** Finish transitions (running → completed/failed) by invocation id. */
  readonly finishes = new Map<string, number>();
  /** Actors that have not ended. */
  readonly live = new Set<Actor>();
  /** The function versions whose code ran an attempt of each invocation (rule 12: one each, its pin). */
  readonly versionsRun = new Map<string, Set<string>>();
  readonly #deploys: readonly number[];

  readonly #workload: Workload;
  readonly #faults: Faults;
  readonly #rng: Prng;
  readonly #decide: DecideWake;
  readonly #trace: ((line: string) => void) | undefined;
  readonly #maxEvents: number;
  readonly #jobs: Job[] = [];
  #jobSeq = 0;
  #actorSeq = 0;
  readonly #labels = new Map<string, string>();
  readonly #bySpecLabel = new Map<string, InvocationSpec>();
  /** Names of journaled `run` entries by invocation id (from the change feed, i.e. the raw store). */
  readonly #journaledRuns = new Map<string, Set<string>>();
  readonly #flakes = new Map<string, number>();
  readonly #failedOnce = new Set<string>();
  readonly #deps: Omit<AttemptDeps, 'store'>;
  readonly #catalog;

  constructor(options: WorldOptions) {
    this.#workload = options.workload;
    this.#faults = options.faults;
    this.#rng = options.rng;
    this.#decide = options.decideWake ?? decideWake;
    this.#trace = options.trace;
    this.#maxEvents = options.maxEvents ?? 30_000;
    this.#deploys = options.deploys ?? [];
    this.specs = [...options.workload.invocations];
    for (const spec of this.specs) this.#bySpecLabel.set(spec.label, spec);
    const services = registry(definitions(this));
    this.#catalog = catalogOf(services);
    this.#deps = {
      signer: this.signer,
      clock: this.clock,
      services,
      // As lambdaHandler sets it: the remaining time plus a margin (see LEASE_MARGIN_MS there).
      leaseMs: options.workload.leaseMs + LEASE_MARGIN_MS,
      alwaysReplay: options.workload.alwaysReplay,
      lingerMs: options.workload.lingerMs,
      invocationRetry: { initialIntervalMs: 1_000, factor: 2, maxIntervalMs: 60_000, maxAttempts: 20 },
    };
    this.store.onChange((change) => this.#onChange(change));
  }

  /** Runs the workload to quiescence. */
  async run(): Promise<void> {
    for (const spec of this.specs) this.#startJob(spec, EPOCH + spec.startAt, false);
    for (const spec of this.specs) for (const event of spec.events ?? []) this.#publishJob(spec.label, event, EPOCH + event.at);
    for (;;) {
      await this.sched.settle();
      const now = this.clock.now();
      const calls = this.sched.parked.filter((c) => c.actor.state === 'running');
      const due = this.#jobs.filter((j) => j.at <= now);
      let next: number | undefined;
      for (const j of this.#jobs) if (j.at > now && (next === undefined || j.at < next)) next = j.at;
      if (calls.length + due.length === 0) {
        if (next === undefined) return;
        this.clock.time = next;
        continue;
      }
      if (this.stats.events >= this.#maxEvents) {
        this.#violation(
          'no-quiescence',
          `still busy after ${this.stats.events} events at t=${this.#time()}: ${calls.length} calls, ${this.#jobs.length} jobs (${[...new Set(this.#jobs.map((j) => j.kind))].join(', ')})`,
        );
        return;
      }
      this.stats.events++;
      // Time may also move while calls wait (a slow call), so later jobs can overtake them.
      const advance = next !== undefined && next - now <= 10_000 ? 1 : 0;
      const r = this.#rng.int(calls.length + due.length + advance);
      if (r < calls.length) this.#fireCall(calls[r]!);
      else if (r < calls.length + due.length) this.#fireJob(due[r - calls.length]!);
      else {
        this.#log(`advance to ${this.#time(next)}`);
        this.clock.time = next!;
      }
    }
  }

  /** A readable name for an invocation id. */
  name(id: string): string {
    return this.#labels.get(id) ?? id.slice(0, 12);
  }

  // ---- hooks called by handler code ------------------------------------------

  stepBody(invocationId: string, name: string): void {
    this.stats.steps++;
    if (this.#journaledRuns.get(invocationId)?.has(name)) {
      this.#violation('step-rerun', `${this.name(invocationId)}: the body of step '${name}' ran after its journal entry was written`);
    }
  }

  send(tag: string, slot: string, awakeableId: string): void {
    const key = `${tag}/${slot}`;
    const known = this.sent.get(key);
    if (known !== undefined) {
      if (known !== awakeableId) this.#violation('awakeable-id-changed', `${key}: sent ${known}, later ${awakeableId}`);
      return;
    }
    this.sent.set(key, awakeableId);
    const owner = this.#bySpecLabel.get(tag);
    const plan = owner?.slots[slot] ?? [];
    plan.forEach((spec, i) => {
      const at = this.clock.now() + spec.delay;
      if (spec.via === 'relay') {
        const relay: InvocationSpec = {
          label: `${tag}.${slot}.relay${i}`,
          template: 'relay',
          service: 'sim',
          handler: 'relay',
          input: { id: awakeableId, kind: spec.kind, value: spec.value },
          startAt: at - EPOCH,
          slots: {},
        };
        this.specs.push(relay);
        this.#bySpecLabel.set(relay.label, relay);
        this.#startJob(relay, at, false);
      } else {
        const run: ResolverRun = { owner: tag, slot, spec, awakeableId, tries: 0 };
        this.resolverRuns.push(run);
        this.#job(
          'resolve',
          at,
          () => `${spec.kind} ${key} with '${spec.value}'`,
          () => this.#spawnResolver(run),
        );
      }
    });
  }

  flake(tag: string, k: number): boolean {
    const n = this.#flakes.get(tag) ?? 0;
    this.#flakes.set(tag, n + 1);
    return n < k;
  }

  failOnce(tag: string): boolean {
    if (this.#failedOnce.has(tag)) return false;
    this.#failedOnce.add(tag);
    return true;
  }

  // ---- scheduling ------------------------------------------------------------

  get #faulty(): boolean {
    return this.stats.events < this.#faults.faultyEvents;
  }

  #fireCall(call: ParkedCall): void {
    const actor = call.actor;
    this.sched.take(call);
    const zombie = this.#stealerOf(call);
    if (zombie) {
      // The zombie's append lands first; this attempt's, of the same entry, loses.
      const entry = zombie.args[1] as JournalEntry;
      this.sched.take(zombie);
      zombie.actor.state = 'running';
      zombie.actor.stealing = false;
      this.stats.steals[entry.kind] = (this.stats.steals[entry.kind] ?? 0) + 1;
      this.#log(`ZOMBIE WINS ${zombie.actor} ${zombie.describe()} before ${actor}`);
      void zombie
        .execute()
        .then(zombie.resolve, zombie.reject)
        .then(() => {
          this.#log(`${actor} ${call.describe()}`);
          call.execute().then(call.resolve, call.reject);
        });
      return;
    }
    if (actor.deadline !== undefined && this.clock.now() > actor.deadline && !actor.wasPaused) {
      // Lambda ends an execution at its timeout (a zombie stands for one it lost track of).
      this.#log(`TIMEOUT ${actor} at ${call.describe()}`);
      this.stats.timeouts++;
      actor.state = 'dead';
      this.sched.drop(actor);
      this.live.delete(actor);
      actor.onTimeout?.();
      return;
    }
    if (call.op === 'lambda.invoke' && actor.kind !== 'wake' && actor.kind !== 'recover') {
      this.stats.directWakes++;
      if (this.#faulty && this.#faults.crashBeforeDirectWake > 0 && this.#rng.chance(this.#faults.crashBeforeDirectWake)) {
        this.#log(`CRASH ${actor} between its completion write and ${call.describe()}`);
        this.stats.directWakeCrashes++;
        this.#crash(actor);
        return;
      }
    }
    if (this.#faulty && this.stats.crashes < this.#faults.maxCrashes) {
      const r = this.#rng.float();
      const crash = this.#faults.crash;
      if (r < crash) {
        this.#log(`CRASH ${actor} before ${call.describe()}`);
        this.#crash(actor);
        return;
      }
      if (call.write && r < 2 * crash) {
        this.#log(`CRASH ${actor} after ${call.describe()}`);
        call.execute().catch(() => undefined);
        this.#crash(actor);
        return;
      }
      if (actor.kind === 'attempt' && !actor.wasPaused && call.op !== 'acquire' && r < 2 * crash + this.#faults.zombie) {
        this.#pause(actor, call);
        return;
      }
    }
    if (
      this.#faulty &&
      this.#faults.steal > 0 &&
      actor.kind === 'attempt' &&
      !actor.wasPaused &&
      call.op === 'append' &&
      this.#rng.chance(this.#faults.steal)
    ) {
      this.#pause(actor, call, true);
      return;
    }
    this.#log(`${actor} ${call.describe()}`);
    call.execute().then(call.resolve, call.reject);
  }

  #fireJob(job: Job): void {
    this.#jobs.splice(this.#jobs.indexOf(job), 1);
    this.#log(`job ${job.kind}: ${job.describe()}`);
    job.fire();
  }

  #job(kind: JobKind, at: number, describe: () => string, fire: () => void): void {
    this.#jobs.push({ seq: this.#jobSeq++, at, kind, describe, fire });
  }

  #crash(actor: Actor): void {
    actor.state = 'dead';
    this.sched.drop(actor);
    this.live.delete(actor);
    this.stats.crashes++;
    actor.onCrash?.();
  }

  /**
   * A zombie paused at an append of the same entry as `call` (an append of a
   * newer attempt of the same invocation), waiting to win it.
   */
  #stealerOf(call: ParkedCall): ParkedCall | undefined {
    if (call.op !== 'append' || call.actor.kind !== 'attempt') return undefined;
    const [id, entry] = call.args as [string, JournalEntry];
    return this.sched.parked.find((c) => {
      if (c.actor === call.actor || !c.actor.stealing || c.actor.state !== 'paused' || c.op !== 'append') return false;
      const [otherId, other] = c.args as [string, JournalEntry];
      return otherId === id && other.index === entry.index;
    });
  }

  /**
   * Pauses an attempt past its lease. A stealing one waits for the next
   * attempt to reach the same entry (see `#stealerOf`), or resumes late.
   */
  #pause(actor: Actor, call: ParkedCall, stealing = false): void {
    actor.state = 'paused';
    actor.wasPaused = true;
    actor.stealing = stealing;
    this.stats.zombies++;
    this.sched.parked.push(call);
    const resumeAt = this.clock.now() + this.#workload.leaseMs + (stealing ? 600_000 : this.#rng.between(1, 120_000));
    this.#log(`PAUSE ${actor} at ${call.describe()} until ${this.#time(resumeAt)}`);
    this.#job(
      'resume',
      resumeAt,
      () => `resume ${actor}`,
      () => {
        actor.stealing = false;
        if (actor.state === 'paused') actor.state = 'running';
      },
    );
    actor.onPause?.();
  }

  /** Starts an actor: `body` is real runtime code over the actor's store. */
  #spawn<T>(
    kind: ActorKind,
    label: string,
    body: (actor: Actor, store: Store) => Promise<T>,
    done: (result: { ok: true; value: T } | { ok: false; error: unknown }) => void,
  ): Actor {
    const actor = new Actor(this.#actorSeq++, kind, label);
    this.live.add(actor);
    this.sched.activity++;
    const finish = (result: { ok: true; value: T } | { ok: false; error: unknown }) => {
      if (actor.state === 'dead') return;
      actor.state = 'done';
      this.live.delete(actor);
      this.sched.activity++;
      done(result);
    };
    void (async () => body(actor, this.#storeFor(actor)))().then(
      (value) => finish({ ok: true, value }),
      (error: unknown) => finish({ ok: false, error }),
    );
    return actor;
  }

  #storeFor(actor: Actor): Store {
    const real = this.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const proxy: Record<string, unknown> = {};
    for (const op of STORE_OPS) {
      const method = real[op]!;
      proxy[op] = (...args: unknown[]) =>
        this.sched.park(
          actor,
          op,
          !STORE_READS.has(op),
          () => this.#describe(op, args),
          async () => {
            const result = await method.apply(this.store, args);
            // A conditional write of an attempt lost to another attempt (see the check in #spawnAttempt).
            if (actor.kind === 'attempt' && result === false && (op === 'append' || op === 'writeState'))
              actor.lostWrite ??= this.#describe(op, args);
            return result;
          },
          args,
        );
    }
    return proxy as unknown as Store;
  }

  /** A side effect outside the table (a Lambda invoke, an SQS send): also a scheduling point. */
  #effect(actor: Actor, op: string, describe: () => string, effect: () => void): Promise<void> {
    return this.sched.park(actor, op, true, describe, async () => effect());
  }

  // ---- Lambda ----------------------------------------------------------------

  /** The version the alias points at now: 1, plus one per deploy so far. */
  liveVersion(): string {
    const now = this.clock.now();
    return String(1 + this.#deploys.filter((t) => EPOCH + t <= now).length);
  }

  #invoke(payload: InvokePayload, retriesLeft: number, at: number): void {
    this.#job(
      'invoke',
      at,
      () => `invoke ${this.name(payload.invocationId)}@${payload.epoch}${retriesLeft < 2 ? ` (retry, ${retriesLeft} left)` : ''}`,
      () => this.#spawnAttempt(payload, retriesLeft),
    );
  }

  /** An async invoke from the wake or recovery: at least once. */
  #asyncInvoke(payload: InvokePayload): void {
    const now = this.clock.now();
    this.#invoke(payload, 2, now + this.#rng.between(0, 200));
    if (this.#faulty && this.#rng.chance(this.#faults.dupInvoke)) {
      this.stats.dupInvokes++;
      this.#invoke(payload, 2, now + this.#rng.between(0, 5_000));
    }
  }

  #spawnAttempt(payload: InvokePayload, retriesLeft: number): void {
    this.stats.attempts++;
    // A pinned invoke runs its version's code; new work the alias's.
    const version = payload.version ?? this.liveVersion();
    const lambdaFailed = (actor: Actor, at: number) => {
      if (actor.abandoned) return;
      actor.abandoned = true;
      if (retriesLeft > 0) {
        // Lambda retries a failed async invoke about 1 and then 2 minutes later.
        const base = retriesLeft === 2 ? 60_000 : 120_000;
        this.#invoke(payload, retriesLeft - 1, at + base + this.#rng.between(-30_000, 30_000));
      } else {
        // The on-failure destination: a recovery message.
        this.stats.recoveries++;
        this.#recoverJob(payload.invocationId, at + this.#rng.between(100, 2_000));
      }
    };
    const deadline = this.clock.now() + this.#workload.leaseMs;
    const actor = this.#spawn(
      'attempt',
      `${this.name(payload.invocationId)}@${payload.epoch}`,
      (_a, store) =>
        runAttempt(
          { ...this.#deps, store, version, remainingMs: () => deadline - this.clock.now() },
          { invocationId: payload.invocationId, epoch: payload.epoch, invokeId: payload.invokeId },
        ),
      (result) => {
        if (!result.ok) {
          // A live lease fails the invoke on purpose (Lambda retries it); anything else is a bug.
          if ((result.error as Error | undefined)?.name === 'LeaseHeldError') {
            this.stats.leaseHeld++;
            this.#log(`${actor} failed: ${(result.error as Error).message}`);
          } else if ((result.error as Error | undefined)?.name === 'PinnedElsewhereError') {
            this.stats.pinnedElsewhere++;
            this.#log(`${actor} failed: ${(result.error as Error).message}`);
          } else this.#violation('attempt-threw', `${actor}: ${String(result.error)}`);
          lambdaFailed(actor, this.clock.now());
          return;
        }
        const outcome: AttemptOutcome = result.value;
        this.stats.outcomes[outcome.kind] = (this.stats.outcomes[outcome.kind] ?? 0) + 1;
        // Anything but a skip acquired the invocation: this version's code ran it.
        if (outcome.kind !== 'skipped') this.#ranOn(payload.invocationId, version);
        this.#log(`${actor} ended ${outcome.kind}${'reason' in outcome ? `: ${outcome.reason}` : ''}`);
        // Losing a write to another attempt is harmless and has one outcome: handed back, no retry counted, no failure.
        if (actor.lostWrite !== undefined && outcome.kind !== 'lost') {
          this.#violation(
            'lost-write-misread',
            `${actor} lost ${actor.lostWrite} to another attempt and ended ${outcome.kind}${'failure' in outcome ? ` (${outcome.failure.message})` : ''}; a lost write must end the attempt lost`,
          );
        }
      },
    );
    // A crash is an error (retried a minute later) or a hang until the Lambda timeout.
    actor.onCrash = () => lambdaFailed(actor, this.clock.now() + (this.#rng.chance(0.5) ? 0 : this.#workload.leaseMs));
    actor.onPause = () => lambdaFailed(actor, this.clock.now() + this.#workload.leaseMs);
    actor.onTimeout = () => lambdaFailed(actor, deadline);
    actor.deadline = deadline;
  }

  // ---- stream and wake ---------------------------------------------------------

  #onChange(change: ItemChange): void {
    const invocationId = invocationIdOf(change.pk);
    const sk = change.sk;
    // A journal renewal raises expiries (`renewJournal`): a change of `ttl` alone overwrites nothing.
    const overwrote = change.eventName === 'MODIFY' && !onlyTtlChanged(change);
    if (sk.startsWith('J#')) {
      if (overwrote) this.#violation('journal-entry-overwritten', `${this.name(invocationId ?? change.pk)} ${sk}`);
      const entry = change.newItem as unknown as JournalEntry | undefined;
      if (invocationId && entry?.kind === 'run' && entry.name !== undefined) {
        let names = this.#journaledRuns.get(invocationId);
        if (!names) this.#journaledRuns.set(invocationId, (names = new Set()));
        names.add(entry.name);
      }
    }
    if ((sk.startsWith('C#') || sk.startsWith('P#')) && overwrote) {
      this.#violation('completion-overwritten', `${this.name(invocationId ?? change.pk)} ${sk}`);
    }
    if (sk === META && invocationId) {
      const status = change.newItem?.status;
      const old = change.oldItem?.status;
      if (old === 'completed' || old === 'failed')
        this.#violation('finished-invocation-changed', `${this.name(invocationId)}: ${String(old)} → ${String(status)}`);
      if (old === 'running' && (status === 'completed' || status === 'failed'))
        this.finishes.set(invocationId, (this.finishes.get(invocationId) ?? 0) + 1);
    }
    // The wake sees what the deployed event filters let through, no more.
    if (!passesWakeFilter(change)) return;
    const now = this.clock.now();
    const delayed = this.#faulty && this.#rng.chance(this.#faults.delayRecord);
    this.#record(change, now + (delayed ? this.#rng.between(1_000, 30_000) : this.#rng.between(0, 300)), '');
    if (this.#faulty && this.#rng.chance(this.#faults.dupRecord)) {
      this.stats.dupRecords++;
      this.#record(change, now + this.#rng.between(0, 60_000), ' (duplicate)');
    }
  }

  #describeChange(change: ItemChange): string {
    const id = invocationIdOf(change.pk);
    const status =
      change.sk === META
        ? ` ${String(change.oldItem?.status ?? '∅')}→${String(change.newItem?.status)}@${String(change.newItem?.epoch)}`
        : '';
    return `${change.eventName} ${id ? this.name(id) : change.pk} ${change.sk}${status}`;
  }

  #record(change: ItemChange, at: number, note: string): void {
    this.#job(
      'record',
      at,
      () => `${this.#describeChange(change)}${note}`,
      () => this.#spawnWake(change),
    );
  }

  #spawnWake(change: ItemChange): void {
    const actor = this.#spawn(
      'wake',
      this.#describeChange(change),
      async (a, store) => {
        const actions = await this.#decide(change, store);
        await executeWake(actions, {
          store,
          now: this.clock.now(),
          invoke: (action) =>
            this.#effect(
              a,
              'lambda.invoke',
              () => `invoke ${this.name(action.invocationId)}@${action.epoch}`,
              () => this.#asyncInvoke(invokePayload(action)),
            ),
          schedule: (action) =>
            this.#effect(
              a,
              'sqs.timer',
              () => `timer ${this.name(action.invocationId)} ${action.timer.key}`,
              () => this.#timerMessage(action.invocationId, action.timer, action.wake),
            ),
        });
      },
      (result) => {
        if (!result.ok) {
          this.#violation('wake-threw', `${actor}: ${String(result.error)}`);
          this.#record(change, this.clock.now() + 5_000, ' (retry)');
        }
      },
    );
    // The event source mapping retries the batch.
    actor.onCrash = () => this.#record(change, this.clock.now() + this.#rng.between(500, 5_000), ' (retry)');
  }

  // ---- SQS: timers and recovery -----------------------------------------------

  #timerMessage(invocationId: string, timer: Timer, wake?: WakeTarget): void {
    const at = Math.max(timer.at, this.clock.now());
    const fire = () => this.#spawnTimer(invocationId, timer, wake);
    this.#job('timer', at, () => `timer ${this.name(invocationId)} ${timer.key}`, fire);
    if (this.#faulty && this.#rng.chance(this.#faults.dupMessage))
      this.#job('timer', at + this.#rng.between(0, 10_000), () => `timer ${this.name(invocationId)} ${timer.key} (duplicate)`, fire);
  }

  /** The timer Lambda on a due timer: writes the completion and, having won it, wakes the handler directly (as src/runtime/timer.ts). */
  #spawnTimer(invocationId: string, timer: Timer, wake?: WakeTarget): void {
    const actor = this.#spawn(
      'timer',
      `${this.name(invocationId)} ${timer.key}`,
      async (a, store) => {
        const written = await store.complete(invocationId, { key: timer.key, at: this.clock.now() });
        if (written.won) await wakeDirectly(this.#dispatch(a), invocationId, wake);
      },
      (result) => {
        if (!result.ok) this.#violation('timer-threw', String(result.error));
      },
    );
    // Visibility timeout, then SQS delivers it again.
    actor.onCrash = () =>
      this.#job(
        'timer',
        this.clock.now() + 30_000,
        () => `timer ${this.name(invocationId)} ${timer.key} (redelivered)`,
        () => this.#spawnTimer(invocationId, timer, wake),
      );
  }

  #recoverJob(invocationId: string, at: number): void {
    this.#job(
      'recover',
      at,
      () => `recover ${this.name(invocationId)}`,
      () => this.#spawnRecover(invocationId),
    );
    if (this.#faulty && this.#rng.chance(this.#faults.dupMessage))
      this.#job(
        'recover',
        at + this.#rng.between(0, 10_000),
        () => `recover ${this.name(invocationId)} (duplicate)`,
        () => this.#spawnRecover(invocationId),
      );
  }

  /** The timer Lambda's handling of a recovery message: the real `recover` of src/runtime/timer.ts. */
  #spawnRecover(invocationId: string): void {
    const actor = this.#spawn(
      'recover',
      this.name(invocationId),
      (a, store) => recover({ store, clock: this.clock, dispatch: this.#dispatch(a) }, invocationId),
      (result) => {
        if (!result.ok) this.#violation('recover-threw', String(result.error));
        else this.#log(`${actor} → ${result.value}`);
      },
    );
    actor.onCrash = () => this.#recoverJob(invocationId, this.clock.now() + 30_000);
  }

  #ranOn(invocationId: string, version: string): void {
    const versions = this.versionsRun.get(invocationId) ?? new Set<string>();
    this.versionsRun.set(invocationId, versions.add(version));
    if (versions.size > 1) {
      this.#violation(
        'ran-on-other-version',
        `${this.name(invocationId)} ran on function versions ${[...versions].join(' and ')}: every attempt must run the version it started on (rule 12)`,
      );
    }
  }

  /** Lambda and SQS as the timer Lambda reaches them; each send is a scheduling point. */
  #dispatch(actor: Actor): Dispatch {
    return {
      invoke: (_service, payload) =>
        this.#effect(
          actor,
          'lambda.invoke',
          () => `invoke ${this.name(payload.invocationId)}@${payload.epoch}`,
          () => this.#asyncInvoke(payload),
        ),
      schedule: (invocationId, timer, wake) =>
        this.#effect(
          actor,
          'sqs.timer',
          () => `timer ${this.name(invocationId)} ${timer.key}`,
          () => this.#timerMessage(invocationId, timer, wake),
        ),
      send: (message) =>
        this.#effect(
          actor,
          'sqs.send',
          () => `${message.type} ${this.name(message.invocationId)} at ${this.#time(message.at)}`,
          () =>
            message.type === 'recover'
              ? this.#recoverJob(message.invocationId, message.at)
              : this.#timerMessage(
                  message.invocationId,
                  { key: message.key, at: message.at },
                  message.service !== undefined && message.epoch !== undefined
                    ? { service: message.service, epoch: message.epoch }
                    : undefined,
                ),
        ),
    };
  }

  // ---- clients -------------------------------------------------------------------

  /** The ingress core as the ingress Lambda runs it: with the direct wake through the actor's Lambda client. */
  #ingress(store: Store, actor: Actor): EndpointDeps {
    return {
      store,
      signer: this.signer,
      clock: this.clock,
      catalog: this.#catalog,
      dispatch: this.#dispatch(actor),
      endpoints: SIM_ENDPOINTS,
    };
  }

  /** Publishes an event for an `eventWait` (its client retries after a crash until it gets an answer). */
  #publishJob(owner: string, event: EventSpec, at: number): void {
    this.#job(
      'publish',
      at,
      () => `publish ${event.id} ('${event.value}') for ${owner}`,
      () => {
        const actor = this.#spawn(
          'publisher',
          `${owner} event ${event.id}`,
          async (a, store) => {
            const answer = await publishEvent(this.#ingress(store, a), 'sim', JSON.stringify({ tag: owner, value: event.value }), event.id);
            if (answer.statusCode !== 202)
              this.#violation('event-refused', `${owner}: event ${event.id} answered ${answer.statusCode} ${answer.body}`);
          },
          (result) => {
            if (!result.ok) this.#violation('publisher-threw', `${actor}: ${String(result.error)}`);
            this.published.push({ owner, event });
          },
        );
        actor.onCrash = () => this.#publishJob(owner, event, this.clock.now() + this.#rng.between(1_000, 5_000));
      },
    );
  }

  #startJob(spec: InvocationSpec, at: number, repeat: boolean): void {
    this.#job(
      'start',
      at,
      () => `start ${spec.label}${repeat ? ' (repeated)' : ''}`,
      () => this.#spawnStart(spec, repeat),
    );
  }

  #spawnStart(spec: InvocationSpec, repeat: boolean): void {
    const actor = this.#spawn(
      'start',
      spec.label,
      (a, store) =>
        startInvocation(this.#ingress(store, a), {
          service: spec.service,
          handler: spec.handler,
          key: spec.key,
          body: JSON.stringify(spec.input),
          // A workflow run is one per key already (and a call may have created it with another input).
          idempotencyKey: spec.template === 'flowRun' ? undefined : spec.label,
        }),
      (result) => {
        if (!result.ok) {
          this.#violation('start-refused', `${spec.label}: ${String(result.error)}`);
          return;
        }
        const id = result.value.invocationId;
        const known = this.ids.get(spec.label);
        if (known !== undefined && known !== id) this.#violation('start-not-idempotent', `${spec.label}: ${known} then ${id}`);
        if (known === undefined && spec.cancelAfter !== undefined) {
          const at = Math.max(this.clock.now(), EPOCH + spec.startAt + spec.cancelAfter);
          if (spec.cancelFromHandler) this.#startHelper(spec, 'cancelOther', id, at);
          else
            this.#job(
              'cancel',
              at,
              () => `cancel ${spec.label}`,
              () => this.#spawnCanceller(spec.label, id),
            );
        }
        if (known === undefined && spec.attachAfter !== undefined)
          this.#startHelper(spec, 'attachTo', id, this.clock.now() + spec.attachAfter);
        this.ids.set(spec.label, id);
        this.#labels.set(id, spec.label);
        // A client that timed out repeats its request with the same idempotency key.
        if (!repeat && this.#faulty && this.#rng.chance(this.#faults.dupStart))
          this.#startJob(spec, this.clock.now() + this.#rng.between(0, 5_000), true);
      },
    );
    actor.onCrash = () => this.#startJob(spec, this.clock.now() + this.#rng.between(500, 5_000), true);
  }

  #spawnResolver(run: ResolverRun): void {
    run.tries++;
    const actor = this.#spawn(
      'resolver',
      `${run.owner}/${run.slot} ${run.spec.kind} '${run.spec.value}'`,
      async (a, store) => {
        const deps = this.#ingress(store, a);
        if (run.awakeableId.startsWith('whk_')) {
          // A provider's delivery to ctx.webhook(): its body is the value.
          const body = Buffer.from(JSON.stringify(run.spec.value));
          await deliverWebhook(deps, run.awakeableId, { method: 'POST', headers: { 'content-type': 'application/json' }, query: {}, body });
        } else if (run.spec.kind === 'resolve') await resolveAwakeable(deps, run.awakeableId, JSON.stringify(run.spec.value));
        else await rejectAwakeable(deps, run.awakeableId, run.spec.value);
      },
      (result) => {
        if (result.ok) run.answer = { status: 200, code: 'accepted' };
        else if (result.error instanceof IngressError)
          run.answer = { status: result.error.status, code: result.error.code, details: result.error.details };
        else this.#violation('resolver-threw', `${actor}: ${String(result.error)}`);
        this.#log(`${actor} answered ${run.answer?.status ?? '?'} ${run.answer?.code ?? ''}`);
      },
    );
    // The HTTP client saw a 5xx (or nothing): it tries again.
    actor.onCrash = () =>
      this.#job(
        'resolve',
        this.clock.now() + this.#rng.between(1_000, 5_000),
        () => `${run.spec.kind} ${run.owner}/${run.slot} again`,
        () => this.#spawnResolver(run),
      );
  }

  /** Starts a `sim` handler that acts on another invocation by id (`ctx.cancel`, `ctx.attach`), labelled after it. */
  #startHelper(target: InvocationSpec, template: 'cancelOther' | 'attachTo', id: string, at: number): void {
    const helper: InvocationSpec = {
      label: `${target.label}.${template}`,
      template,
      service: 'sim',
      handler: template,
      input: { id },
      startAt: at - EPOCH,
      slots: {},
    };
    this.specs.push(helper);
    this.#bySpecLabel.set(helper.label, helper);
    this.#startJob(helper, at, false);
  }

  /** A client cancelling an invocation over HTTP, retried after a crash. */
  #spawnCanceller(label: string, id: string): void {
    const actor = this.#spawn(
      'canceller',
      label,
      (a, store) => cancelInvocation(this.#ingress(store, a), id),
      (result) => {
        // A retry after a crash that followed the write may find it finished already: cancelled, as the output check requires.
        const finished = !result.ok && result.error instanceof IngressError && result.error.code === 'already_finished';
        if (!result.ok && !finished) this.#violation('canceller-refused', `${label}: ${String(result.error)}`);
      },
    );
    actor.onCrash = () =>
      this.#job(
        'cancel',
        this.clock.now() + this.#rng.between(1_000, 5_000),
        () => `cancel ${label} again`,
        () => this.#spawnCanceller(label, id),
      );
  }

  // ---- reporting -----------------------------------------------------------------

  #violation(kind: string, detail: string): void {
    this.violations.push({ kind, detail });
    this.#log(`VIOLATION ${kind}: ${detail}`);
  }

  #time(at = this.clock.now()): string {
    return `+${((at - EPOCH) / 1000).toFixed(3)}s`;
  }

  #log(line: string): void {
    this.#trace?.(`${this.#time()} ${line}`);
  }

  #describe(op: string, args: unknown[]): string {
    const show = (v: unknown): string => {
      // An awakeable id carries random bits (and is encrypted): show only what it names, so a seed's trace replays exactly.
      if (typeof v === 'string' && v.startsWith('awk_')) {
        const named = this.signer.verifyAwakeableId(v);
        return named.ok ? `awk(${this.name(named.target.invocationId)}#${named.target.index})` : `awk(${named.problem})`;
      }
      if (typeof v === 'string') return v.startsWith('inv_') ? this.name(v) : v.length > 40 ? `${v.slice(0, 37)}…` : v;
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (op === 'append') return `J#${String(o.index)} ${String(o.kind)}${o.name === undefined ? '' : ` '${show(o.name)}'`}`;
        if (op === 'complete') return `${String(o.key)}=${o.failure ? 'rejected' : String(o.value)}`;
        if (op === 'createInvocation') return `${this.name(String(o.id))} ${String(o.status)}`;
        if ('epoch' in o || 'seenEpoch' in o)
          return `epoch ${String(o.epoch ?? o.seenEpoch)}${Array.isArray(o.awaiting) ? ` awaiting ${o.awaiting.join(',')}` : ''}`;
        return Array.isArray(v) ? `[${v.map(show).join(',')}]` : '{…}';
      }
      return String(v);
    };
    return `${op}(${args.map(show).join(', ')})`;
  }
}

/** Whether a MODIFY changed nothing but the item's `ttl`. */
function onlyTtlChanged(change: ItemChange): boolean {
  const { ttl: _a, ...before } = change.oldItem ?? {};
  const { ttl: _b, ...after } = change.newItem ?? {};
  return JSON.stringify(before, Object.keys(before).sort()) === JSON.stringify(after, Object.keys(after).sort());
}
