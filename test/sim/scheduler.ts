/**
 * The simulator's scheduler: every store call (and every Lambda or SQS send)
 * an actor makes is parked until the scheduler lets it through, so the
 * interleaving of actors is a choice of the seeded PRNG and nothing else.
 *
 * An actor is one Lambda invocation's worth of real runtime code (a handler
 * attempt, a wake of one stream record, an ingress request, a timer or
 * recovery message). Crashing it drops its parked calls and every later call
 * it makes: its promises never settle, as if the process died.
 */
import type { Clock } from 'dormant-lambda/internal';

/**
 * Virtual time: `sleep` (in-attempt backoff) advances it at once.
 *
 * @example
 * ```ts
 * const clock = new SimClock(0); await clock.sleep(50); clock.now() // 50
 * ```
 */
export class SimClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
}

/** What each actor stands for. */
export type ActorKind = 'attempt' | 'wake' | 'resolver' | 'start' | 'timer' | 'recover' | 'canceller' | 'publisher';

/**
 * One running piece of runtime code.
 *
 * - `running`: its calls may be let through.
 * - `paused`: a zombie in the making: its calls wait until it is resumed.
 * - `dead`: crashed; nothing it does reaches the store any more.
 * - `done`: returned or threw.
 */
export class Actor {
  state: 'running' | 'paused' | 'dead' | 'done' = 'running';
  /** Lambda has given up on it (crash or timeout): its late result is ignored. */
  abandoned = false;
  /** Paused once already (one zombie episode per actor is enough). */
  wasPaused = false;
  /** Paused at a journal append that the next attempt's append of the same entry will lose to. */
  stealing = false;
  /** Attempts: a conditional write it lost to another attempt (an entry, or fenced state). */
  lostWrite: string | undefined;
  /** Attempts: when Lambda kills it (the function timeout), epoch ms. */
  deadline: number | undefined;
  /** What the world does when the scheduler crashes it. */
  onCrash: (() => void) | undefined;
  /** What the world does when the scheduler pauses it past its lease. */
  onPause: (() => void) | undefined;
  /** What the world does when Lambda kills it at its deadline. */
  onTimeout: (() => void) | undefined;

  constructor(
    readonly id: number,
    readonly kind: ActorKind,
    readonly label: string,
  ) {}

  toString(): string {
    return `${this.kind}#${this.id}(${this.label})`;
  }
}

/** A call waiting for the scheduler. */
export interface ParkedCall {
  seq: number;
  actor: Actor;
  op: string;
  /** The call's arguments (store calls). */
  args: unknown[];
  /** Only built when tracing. */
  describe: () => string;
  /** Whether it changes anything outside the actor (crashing after it differs from crashing before). */
  write: boolean;
  execute: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Parks calls and detects quiescence.
 *
 * Quiescence: actors only move when a parked call is let through; the rest
 * is microtasks and the engine's `setImmediate` idle check (which decides to
 * suspend). `settle()` runs event-loop turns until, for several turns in a
 * row, no call was parked and no actor ended.
 */
export class Scheduler {
  readonly parked: ParkedCall[] = [];
  /** Bumped by every park and every actor ending: what `settle` watches. */
  activity = 0;
  #seq = 0;

  park<T>(actor: Actor, op: string, write: boolean, describe: () => string, execute: () => Promise<T>, args: unknown[] = []): Promise<T> {
    // A dead actor's calls never return: the process is gone.
    if (actor.state === 'dead') return new Promise<T>(() => undefined);
    return new Promise<T>((resolve, reject) => {
      this.parked.push({
        seq: this.#seq++,
        actor,
        op,
        args,
        describe,
        write,
        execute,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.activity++;
    });
  }

  /** Removes a parked call. */
  take(call: ParkedCall): void {
    const i = this.parked.indexOf(call);
    if (i >= 0) this.parked.splice(i, 1);
  }

  /** Drops every parked call of an actor (it crashed). */
  drop(actor: Actor): void {
    for (let i = this.parked.length - 1; i >= 0; i--) if (this.parked[i]!.actor === actor) this.parked.splice(i, 1);
  }

  /** Waits until nothing moves without the scheduler. */
  async settle(): Promise<void> {
    let last = -1;
    let stable = 0;
    while (stable < 3) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.activity === last) stable++;
      else {
        last = this.activity;
        stable = 0;
      }
    }
  }
}
