/**
 * Workloads for the simulator, drawn from the features: awakeables sent out
 * from a step and resolved by racing resolvers, workflow promises resolved by
 * racing shared handlers (sometimes before `run` starts), exclusive calls
 * queued on an object key, timers (`sleep`, `orTimeout`), combinators,
 * `ctx.run` retries and invocation-level retries.
 *
 * Every handler reports its step bodies and sent awakeable ids to the world
 * through `SimHooks`, so the checks can tell a re-run journaled step and
 * drive the resolvers.
 */
import {
  CancelledError,
  TimeoutError,
  handlers,
  object,
  service,
  workflow,
  type Context,
  type AnyDefinition,
  type ObjectContext,
  type ObjectSharedContext,
  type RunOptions,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import type { Prng } from './prng.ts';

/** What handler code tells the world. */
export interface SimHooks {
  /** A `ctx.run` body is executing (checked against the journal). */
  stepBody(invocationId: string, name: string): void;
  /** An awakeable id leaves the handler (from a step body): the resolvers start. */
  send(tag: string, slot: string, awakeableId: string): void;
  /** Whether this execution of a flaky step fails (the first `k` do). */
  flake(tag: string, k: number): boolean;
  /** Whether the handler fails this time (only the first time it gets here). */
  failOnce(tag: string): boolean;
}

/** One resolve or reject of an awakeable (or a workflow promise). */
export interface ResolverSpec {
  kind: 'resolve' | 'reject';
  /** `ingress`: the HTTP endpoint's core; `relay`: another handler's `ctx.resolveAwakeable`. */
  via: 'ingress' | 'relay';
  /** The value resolved (a string), or the reject reason. */
  value: string;
  /** After the id is sent out, ms. */
  delay: number;
}

/** The handler templates. */
export type Template =
  | 'approval'
  | 'flaky'
  | 'sleeper'
  | 'combo'
  | 'flowRun'
  | 'flowApprove'
  | 'attachRun'
  | 'callApprove'
  | 'add'
  | 'addHeld'
  | 'addSlow'
  | 'callAdd'
  | 'sendAdd'
  | 'read'
  | 'relay'
  | 'tour'
  | 'hook'
  | 'eventWait'
  | 'flowPeek'
  | 'flowWait'
  | 'cancelled'
  | 'cancelOther'
  | 'attachTo';

/** One invocation of a workload. */
export interface InvocationSpec {
  label: string;
  template: Template;
  service: string;
  handler: string;
  key?: string | undefined;
  input: unknown;
  /** Virtual ms after the run starts; relays start when their id is sent. */
  startAt: number;
  /** Resolvers of each awakeable slot the handler creates. */
  slots: Record<string, ResolverSpec[]>;
  /** Object or workflow group this belongs to. */
  group?: string | undefined;
  /** Cancel it over HTTP this many virtual ms after it started (`cancelled`). */
  cancelAfter?: number | undefined;
  /** Cancel it from another handler (`ctx.cancel`) instead of over HTTP. */
  cancelFromHandler?: boolean | undefined;
  /** Once its id is known, start a handler that attaches to it (`ctx.attach`) this many virtual ms later. */
  attachAfter?: number | undefined;
  /** Events published to the `sim` endpoint for its `ctx.waitForEvent` (`eventWait`), each at its own time. */
  events?: EventSpec[] | undefined;
}

/**
 * One delivery of an event to the `sim` endpoint (`POST /restate/events/sim`):
 * its id (a redelivery repeats it), the value it carries, and when it is
 * published, virtual ms after the run starts (before, while or after its
 * waiter waits).
 */
export interface EventSpec {
  id: string;
  value: string;
  at: number;
}

/** What one seed runs. */
export interface Workload {
  invocations: InvocationSpec[];
  /** Attempt lease (the Lambda timeout). */
  leaseMs: number;
  /** Restate's always-replay test mode. */
  alwaysReplay: boolean;
  /** How long an attempt polls for a completion before suspending. */
  lingerMs: number;
}

/** Completion as the checks see it: a value (a string) or a rejection reason. */
export type Settled = { ok: true; value: string } | { ok: false; reason: string };

function step<T>(hooks: SimHooks, ctx: Context, name: string, fn: () => T, options?: RunOptions<T>) {
  return ctx.run(
    name,
    () => {
      hooks.stepBody(ctx.request().id, name);
      return fn();
    },
    options,
  );
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The services of a run, bound to its hooks.
 *
 * @example
 * ```ts
 * const services = definitions(world);
 * ```
 */
export function definitions(hooks: SimHooks): AnyDefinition[] {
  const sim = service({
    name: 'sim',
    handlers: {
      approval: async (ctx: Context, input: { tag: string }) => {
        const a = ctx.awakeable<string>();
        await step(hooks, ctx, 'send', () => hooks.send(input.tag, 'a', a.id));
        try {
          const v = await a.promise;
          return await step(hooks, ctx, 'after', () => `ok:${v}`);
        } catch (e) {
          return `rejected:${message(e)}`;
        }
      },
      /** Waits for the `sim` endpoint's event carrying its tag (ctx.waitForEvent), published before, while or after it waits. */
      eventWait: async (ctx: Context, input: { tag: string }) => {
        const event = await ctx.waitForEvent<{ tag: string; value: string }>('sim', { match: { 'body.tag': input.tag } });
        return step(hooks, ctx, 'after', () => `ok:${event.body.value}`);
      },
      /** A per-request callback URL (ctx.webhook) a provider delivers to, once, twice, or two different requests. */
      hook: async (ctx: Context, input: { tag: string }) => {
        const w = ctx.webhook();
        await step(hooks, ctx, 'send', () => hooks.send(input.tag, 'a', w.id));
        const request = await w.promise;
        return step(hooks, ctx, 'after', () => `ok:${String(request.body)}`);
      },
      flaky: async (ctx: Context, input: { tag: string; k: number; failOnce: boolean; backoffMs: number }) => {
        const x = await step(
          hooks,
          ctx,
          'flaky',
          () => {
            if (hooks.flake(input.tag, input.k)) throw new Error('flake');
            return 'flaky-ok';
          },
          // Backoffs over a second suspend the invocation on a durable timer.
          { retry: { maxAttempts: 10, initialIntervalMs: input.backoffMs } },
        );
        const pq = await ctx.all([step(hooks, ctx, 'p', () => 'p'), step(hooks, ctx, 'q', () => 'q')]);
        let y = '';
        try {
          await step(
            hooks,
            ctx,
            'doomed',
            () => {
              throw new Error('boom');
            },
            { retry: { maxAttempts: 2, initialIntervalMs: 10 } },
          );
        } catch (e) {
          y = message(e);
        }
        if (input.failOnce && hooks.failOnce(input.tag)) throw new Error('transient handler failure');
        return { x, pq, y };
      },
      sleeper: async (ctx: Context, input: { tag: string; sleepMs: number; timeoutMs: number }) => {
        await ctx.sleep(input.sleepMs);
        const a = ctx.awakeable<string>();
        await step(hooks, ctx, 'send', () => hooks.send(input.tag, 'a', a.id));
        try {
          return `ok:${await a.promise.orTimeout(input.timeoutMs)}`;
        } catch (e) {
          return e instanceof TimeoutError ? 'timeout' : `rejected:${message(e)}`;
        }
      },
      combo: async (ctx: Context, input: { tag: string }) => {
        const a = ctx.awakeable<string>();
        const b = ctx.awakeable<string>();
        await step(hooks, ctx, 'send', () => {
          hooks.send(input.tag, 'a', a.id);
          hooks.send(input.tag, 'b', b.id);
        });
        const race = await ctx.race([a.promise, b.promise]).then(
          (v) => `v:${v}`,
          (e: unknown) => `e:${message(e)}`,
        );
        const settled = await ctx.allSettled([a.promise, b.promise]);
        return { race, settled: settled.map((s) => (s.status === 'fulfilled' ? `v:${s.value}` : `e:${message(s.reason)}`)) };
      },
      callAdd: async (ctx: Context, input: { key: string; n: number }) =>
        ctx.genericCall<number>({ service: 'counter', handler: 'add', key: input.key, input: { n: input.n } }),
      sendAdd: async (ctx: Context, input: { key: string; n: number; delayMs: number }) => {
        ctx.genericSend({
          service: 'counter',
          handler: 'add',
          key: input.key,
          input: { n: input.n },
          ...(input.delayMs > 0 ? { delayMs: input.delayMs } : {}),
        });
        return 'sent';
      },
      attachRun: async (ctx: Context, input: { key: string }) =>
        ctx.genericCall<string>({ service: 'flow', handler: 'run', key: input.key }),
      callApprove: async (ctx: Context, input: { key: string; kind: 'resolve' | 'reject'; value: string }) =>
        ctx.genericCall<string>({ service: 'flow', handler: 'approve', key: input.key, input: { kind: input.kind, value: input.value } }),
      // Waits on an awakeable nobody resolves, or on a callee that does the
      // same (after a sleep, so the call may be new in the attempt that
      // delivers the cancellation): only a cancellation ends it, and it must
      // reach the callee too.
      cancelled: async (ctx: Context, input: { tag: string; sleepMs?: number; child?: string }) => {
        if (input.child) {
          try {
            if (input.sleepMs) await ctx.sleep(input.sleepMs);
            return await ctx.genericCall<string>({ service: 'sim', handler: 'cancelled', input: { tag: input.child } });
          } catch (e) {
            return e instanceof CancelledError ? 'cancelled' : `rejected:${message(e)}`;
          }
        }
        const a = ctx.awakeable<string>();
        await step(hooks, ctx, 'send', () => hooks.send(input.tag, 'a', a.id));
        try {
          return `ok:${await a.promise}`;
        } catch (e) {
          if (!(e instanceof CancelledError)) return `rejected:${message(e)}`;
          await step(hooks, ctx, 'compensate', () => 'undone');
          return 'cancelled';
        }
      },
      cancelOther: async (ctx: Context, input: { id: string }) => {
        ctx.cancel(input.id);
        return 'sent';
      },
      attachTo: async (ctx: Context, input: { id: string }) => {
        try {
          return await ctx.attach<string>(input.id);
        } catch (e) {
          return `failed:${message(e)}`;
        }
      },
      relay: async (ctx: Context, input: { id: string; kind: 'resolve' | 'reject'; value: string }) => {
        if (input.kind === 'reject') ctx.rejectAwakeable(input.id, input.value);
        else ctx.resolveAwakeable(input.id, input.value);
        return 'sent';
      },
    },
  });

  const flow = workflow({
    name: 'flow',
    handlers: {
      run: async (ctx: WorkflowContext) => {
        ctx.set('stage', 'waiting');
        const v = await ctx
          .promise<string>('approval')
          .get()
          .then(
            (value) => `ok:${value}`,
            (e: unknown) => `rejected:${message(e)}`,
          );
        ctx.set('stage', v);
        return v;
      },
      peek: async (ctx: WorkflowSharedContext) => {
        const seen = await ctx
          .promise<string>('approval')
          .peek()
          .then(
            (value) => (value === undefined ? 'pending' : `ok:${value}`),
            (e: unknown) => `rejected:${message(e)}`,
          );
        return seen;
      },
      // Waits on the run's promise from a shared handler (a waiter beside the promise, the outcome relayed to it).
      wait: async (ctx: WorkflowSharedContext) => {
        try {
          return `ok:${await ctx.promise<string>('approval')}`;
        } catch (e) {
          return `rejected:${message(e)}`;
        }
      },
      approve: async (ctx: WorkflowSharedContext, input: { kind: 'resolve' | 'reject'; value: string }) => {
        try {
          if (input.kind === 'reject') await ctx.promise<string>('approval').reject(input.value);
          else await ctx.promise<string>('approval').resolve(input.value);
          return 'won';
        } catch (e) {
          return `lost:${(e as { code?: number }).code ?? message(e)}`;
        }
      },
    },
  });

  const add = async (ctx: ObjectContext, n: number) => {
    const v = ((await ctx.get<number>('n')) ?? 0) + n;
    ctx.set('n', v);
    return v;
  };
  const counter = object({
    name: 'counter',
    handlers: {
      add: async (ctx: ObjectContext, input: { n: number }) => add(ctx, input.n),
      addHeld: async (ctx: ObjectContext, input: { tag: string; n: number }) => {
        const a = ctx.awakeable<string>();
        await step(hooks, ctx, 'send', () => hooks.send(input.tag, 'a', a.id));
        try {
          await a.promise;
        } catch {
          // Rejected: add all the same.
        }
        return add(ctx, input.n);
      },
      addSlow: async (ctx: ObjectContext, input: { n: number; sleepMs: number }) => {
        await ctx.sleep(input.sleepMs);
        return add(ctx, input.n);
      },
      read: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('n')) ?? 0),
    },
  });

  // Every state operation and the journaled clock, in one exclusive call.
  const ledger = object({
    name: 'ledger',
    handlers: {
      tour: async (ctx: ObjectContext) => {
        const now = await ctx.date.now();
        ctx.set('a', 1);
        ctx.set('b', 2);
        const keys = await ctx.stateKeys();
        ctx.clear('a');
        const b = await ctx.get<number>('b');
        ctx.clearAll();
        const after = await ctx.stateKeys();
        return { keys, b, after, clock: typeof now };
      },
    },
  });

  return [sim, flow, counter, ledger];
}

/** Resolvers of one awakeable slot: single, duplicate, racing values, resolve vs reject, a relay. */
function resolvers(rng: Prng, prefix: string, allowNone: boolean): ResolverSpec[] {
  const delay = () => (rng.chance(0.4) ? 0 : rng.between(1, 3_000));
  const shape = rng.weighted<'none' | 'single' | 'duplicate' | 'race' | 'resolveReject' | 'relay' | 'reject'>([
    ['none', allowNone ? 2 : 0],
    ['single', 4],
    ['duplicate', 2],
    ['race', 2],
    ['resolveReject', 2],
    ['relay', 1],
    ['reject', 1],
  ]);
  switch (shape) {
    case 'none':
      return [];
    case 'single':
      return [{ kind: 'resolve', via: 'ingress', value: `${prefix}.0`, delay: delay() }];
    case 'duplicate': {
      const d = delay();
      return [
        { kind: 'resolve', via: 'ingress', value: `${prefix}.0`, delay: d },
        { kind: 'resolve', via: 'ingress', value: `${prefix}.0`, delay: rng.chance(0.5) ? d : delay() },
      ];
    }
    case 'race': {
      const d = delay();
      return [
        { kind: 'resolve', via: 'ingress', value: `${prefix}.0`, delay: d },
        { kind: 'resolve', via: 'ingress', value: `${prefix}.1`, delay: d },
      ];
    }
    case 'resolveReject': {
      const d = delay();
      return [
        { kind: 'resolve', via: 'ingress', value: `${prefix}.0`, delay: d },
        { kind: 'reject', via: 'ingress', value: `${prefix}.no`, delay: d },
      ];
    }
    case 'relay':
      return [
        { kind: rng.chance(0.7) ? 'resolve' : 'reject', via: 'relay', value: `${prefix}.r`, delay: delay() },
        ...(rng.chance(0.5) ? [{ kind: 'resolve' as const, via: 'ingress' as const, value: `${prefix}.0`, delay: delay() }] : []),
      ];
    case 'reject':
      return [{ kind: 'reject', via: 'ingress', value: `${prefix}.no`, delay: delay() }];
  }
}

/**
 * Draws a workload from a seed's PRNG. `extras` (a stream of its own, so
 * the draws of `rng` and the kept seeds stay as they were) adds, on half the
 * seeds, one invocation of each journal entry kind the main templates lack
 * or draw rarely: the journaled clock and every state operation (`tour`), a
 * shared handler's `peek` of a workflow promise, a shared handler waiting
 * on each workflow's promise, handlers rejecting and resolving another's
 * awakeable and one attaching to the first, and a cancellation (over HTTP, or from a
 * handler).
 *
 * @example
 * ```ts
 * const workload = drawWorkload(new Prng(7).fork('workload'), new Prng(7).fork('extras'));
 * ```
 */
export function drawWorkload(rng: Prng, extras?: Prng): Workload {
  const invocations: InvocationSpec[] = [];
  const at = () => (rng.chance(0.3) ? 0 : rng.between(0, 5_000));
  let n = 0;
  const label = (t: string) => `${t}${n++}`;
  const groups = rng.between(2, 5);
  let counterBit = 0;
  for (let g = 0; g < groups; g++) {
    const kind = rng.weighted<'approval' | 'flaky' | 'sleeper' | 'combo' | 'flow' | 'counter'>([
      ['approval', 3],
      ['flaky', 2],
      ['sleeper', 2],
      ['combo', 2],
      ['flow', 2],
      ['counter', 3],
    ]);
    switch (kind) {
      case 'approval': {
        const l = label('approval');
        invocations.push({
          label: l,
          template: 'approval',
          service: 'sim',
          handler: 'approval',
          input: { tag: l },
          startAt: at(),
          slots: { a: resolvers(rng, `${l}.a`, false) },
        });
        break;
      }
      case 'flaky': {
        const l = label('flaky');
        invocations.push({
          label: l,
          template: 'flaky',
          service: 'sim',
          handler: 'flaky',
          input: { tag: l, k: rng.between(0, 3), failOnce: rng.chance(0.5), backoffMs: rng.pick([20, 600]) },
          startAt: at(),
          slots: {},
        });
        break;
      }
      case 'sleeper': {
        const l = label('sleeper');
        const input = { tag: l, sleepMs: rng.between(100, 20_000), timeoutMs: rng.between(500, 30_000) };
        invocations.push({
          label: l,
          template: 'sleeper',
          service: 'sim',
          handler: 'sleeper',
          input,
          startAt: at(),
          slots: { a: resolvers(rng, `${l}.a`, true) },
        });
        break;
      }
      case 'combo': {
        const l = label('combo');
        invocations.push({
          label: l,
          template: 'combo',
          service: 'sim',
          handler: 'combo',
          input: { tag: l },
          startAt: at(),
          slots: { a: resolvers(rng, `${l}.a`, false), b: resolvers(rng, `${l}.b`, false) },
        });
        break;
      }
      case 'flow': {
        const key = label('flow');
        invocations.push({
          label: key,
          template: 'flowRun',
          service: 'flow',
          handler: 'run',
          key,
          input: { tag: key },
          startAt: at(),
          slots: {},
          group: key,
        });
        const approvers = rng.weighted([
          [1, 3],
          [2, 3],
          [3, 1],
        ] as const);
        for (let i = 0; i < approvers; i++) {
          const kind = rng.chance(0.3) ? 'reject' : 'resolve';
          const value = kind === 'reject' ? `${key}.no${i}` : `${key}.v${i}`;
          // Approve over HTTP, or from another handler through a call.
          invocations.push(
            rng.chance(0.7)
              ? {
                  label: `${key}.approve${i}`,
                  template: 'flowApprove',
                  service: 'flow',
                  handler: 'approve',
                  key,
                  input: { kind, value },
                  startAt: at(),
                  slots: {},
                  group: key,
                }
              : {
                  label: `${key}.callApprove${i}`,
                  template: 'callApprove',
                  service: 'sim',
                  handler: 'callApprove',
                  input: { key, kind, value },
                  startAt: at(),
                  slots: {},
                  group: key,
                },
          );
        }
        // Another handler attaches to the run (sometimes before it exists) and gets its result.
        if (rng.chance(0.4))
          invocations.push({
            label: `${key}.attach`,
            template: 'attachRun',
            service: 'sim',
            handler: 'attachRun',
            input: { key },
            startAt: at(),
            slots: {},
            group: key,
          });
        break;
      }
      case 'counter': {
        const key = `k${rng.int(2)}`;
        const calls = rng.between(2, 4);
        for (let i = 0; i < calls && counterBit < 20; i++) {
          const amount = 2 ** counterBit++;
          const t = rng.weighted<'add' | 'addHeld' | 'addSlow' | 'callAdd' | 'sendAdd' | 'read'>([
            ['add', 4],
            ['addHeld', 2],
            ['addSlow', 1],
            ['callAdd', 2],
            ['sendAdd', 1],
            ['read', 1],
          ]);
          const l = label(t);
          const input =
            t === 'addHeld'
              ? { tag: l, n: amount }
              : t === 'addSlow'
                ? { n: amount, sleepMs: rng.between(100, 10_000) }
                : t === 'callAdd'
                  ? { key, n: amount }
                  : t === 'sendAdd'
                    ? { key, n: amount, delayMs: rng.chance(0.5) ? 0 : rng.between(100, 20_000) }
                    : t === 'read'
                      ? {}
                      : { n: amount };
          const viaSim = t === 'callAdd' || t === 'sendAdd';
          invocations.push({
            label: l,
            template: t,
            service: viaSim ? 'sim' : 'counter',
            handler: t,
            key: viaSim ? undefined : key,
            input,
            startAt: at(),
            slots: t === 'addHeld' ? { a: resolvers(rng, `${l}.a`, false) } : {},
            group: `counter/${key}`,
          });
        }
        break;
      }
    }
  }
  if (extras?.chance(0.5)) {
    const at = () => (extras.chance(0.3) ? 0 : extras.between(0, 5_000));
    const tour = label('tour');
    invocations.push({ label: tour, template: 'tour', service: 'ledger', handler: 'tour', key: tour, input: {}, startAt: at(), slots: {} });
    const flowRun = invocations.find((s) => s.template === 'flowRun');
    if (flowRun) {
      invocations.push({
        label: `${flowRun.key!}.peek`,
        template: 'flowPeek',
        service: 'flow',
        handler: 'peek',
        key: flowRun.key,
        input: {},
        startAt: at(),
        slots: {},
        group: flowRun.group,
      });
    }
    // Shared handlers waiting on each workflow's promise, sometimes before its run exists.
    for (const run of invocations.filter((s) => s.template === 'flowRun')) {
      invocations.push({
        label: `${run.key!}.wait`,
        template: 'flowWait',
        service: 'flow',
        handler: 'wait',
        key: run.key,
        input: {},
        startAt: at(),
        slots: {},
        group: run.group,
      });
    }
    // A handler rejecting another's awakeable (ctx.rejectAwakeable).
    const rejected = label('approval');
    invocations.push({
      label: rejected,
      template: 'approval',
      service: 'sim',
      handler: 'approval',
      input: { tag: rejected },
      startAt: at(),
      slots: { a: [{ kind: 'reject', via: 'relay', value: `${rejected}.a.r`, delay: extras.between(0, 3_000) }] },
      // Another handler attaches to it (ctx.attach), before or after it finishes.
      attachAfter: extras.between(0, 6_000),
    });
    // And one resolving another's awakeable (ctx.resolveAwakeable), which the main draws make rarely.
    const resolved = label('approval');
    invocations.push({
      label: resolved,
      template: 'approval',
      service: 'sim',
      handler: 'approval',
      input: { tag: resolved },
      startAt: at(),
      slots: { a: [{ kind: 'resolve', via: 'relay', value: `${resolved}.a.r`, delay: extras.between(0, 3_000) }] },
    });
    const cancelled = label('cancelled');
    invocations.push({
      label: cancelled,
      template: 'cancelled',
      service: 'sim',
      handler: 'cancelled',
      input: extras.chance(0.5) ? { tag: cancelled } : { tag: cancelled, sleepMs: extras.between(100, 3_000), child: `${cancelled}.child` },
      startAt: at(),
      slots: { a: [] },
      cancelAfter: extras.between(0, 4_000),
      cancelFromHandler: extras.chance(0.5),
    });
    // A webhook (ctx.webhook) delivered once, redelivered, or raced by a different request.
    const hook = label('hook');
    const d = extras.chance(0.4) ? 0 : extras.between(1, 3_000);
    const shape = extras.pick(['single', 'duplicate', 'race'] as const);
    invocations.push({
      label: hook,
      template: 'hook',
      service: 'sim',
      handler: 'hook',
      input: { tag: hook },
      startAt: at(),
      slots: {
        a: [
          { kind: 'resolve', via: 'ingress', value: `${hook}.a.0`, delay: d },
          ...(shape === 'single'
            ? []
            : [{ kind: 'resolve' as const, via: 'ingress' as const, value: `${hook}.a.${shape === 'race' ? 1 : 0}`, delay: d }]),
        ],
      },
    });
    // A wait for an event (ctx.waitForEvent): one or two different events,
    // published before, while or after it waits, some of them twice.
    const waiter = label('eventWait');
    const waitAt = at();
    const events: { id: string; value: string; at: number }[] = [];
    const distinct = extras.chance(0.6) ? 1 : 2;
    for (let i = 0; i < distinct; i++) {
      const id = `${waiter}.e${i}`;
      const when = () => Math.max(0, waitAt + extras.between(-3_000, 3_000));
      events.push({ id, value: `${waiter}.v${i}`, at: when() });
      if (extras.chance(0.4)) events.push({ id, value: `${waiter}.v${i}`, at: when() });
    }
    invocations.push({
      label: waiter,
      template: 'eventWait',
      service: 'sim',
      handler: 'eventWait',
      input: { tag: waiter },
      startAt: waitAt,
      slots: {},
      events,
    });
  }
  return {
    invocations,
    leaseMs: rng.pick([20_000, 60_000, 300_000]),
    alwaysReplay: rng.chance(0.25),
    lingerMs: rng.weighted([
      [0, 6],
      [300, 2],
      [2_000, 1],
    ] as const),
  };
}
