/**
 * Restate's virtual objects and stateful actors against Dormant: a greeter
 * counting per key, and a priority queue with typed state
 * (`ObjectContext<State>`) that lets workers in by resolving their
 * awakeables, logging through `ctx.console`.
 */
import * as restate from 'dormant-lambda';

export const greeterObject = restate.object({
  name: 'greeterObject',
  handlers: {
    greet: async (ctx: restate.ObjectContext, req: { greeting: string }) => {
      const count = ((await ctx.get<number>('count')) ?? 0) + 1;
      ctx.set('count', count);
      return `${req.greeting} ${ctx.key} #${count}`;
    },
    ungreet: async (ctx: restate.ObjectContext) => {
      const count = Math.max(0, ((await ctx.get<number>('count')) ?? 1) - 1);
      ctx.set('count', count);
      return `${ctx.key} down to ${count}`;
    },
  },
});

type QueueState = { items: { awakeable: string; priority: number }[]; inFlight: number };
const MAX_IN_FLIGHT = 1;

async function load(ctx: restate.ObjectContext<QueueState>): Promise<QueueState> {
  return { items: (await ctx.get('items')) ?? [], inFlight: (await ctx.get('inFlight')) ?? 0 };
}

function admit(ctx: restate.ObjectContext<QueueState>, state: QueueState): void {
  while (state.inFlight < MAX_IN_FLIGHT && state.items.length > 0) {
    state.items.sort((a, b) => a.priority - b.priority);
    const next = state.items.shift()!;
    state.inFlight++;
    ctx.resolveAwakeable(next.awakeable);
  }
  ctx.set('items', state.items);
  ctx.set('inFlight', state.inFlight);
  ctx.console.log(`queue ${ctx.key}: ${state.items.length} waiting, ${state.inFlight} in flight`);
}

export const queue = restate.object({
  name: 'queue',
  handlers: {
    push: async (ctx: restate.ObjectContext<QueueState>, item: { awakeable: string; priority: number }) => {
      const state = await load(ctx);
      state.items.push(item);
      admit(ctx, state);
    },
    done: async (ctx: restate.ObjectContext<QueueState>) => {
      const state = await load(ctx);
      state.inFlight--;
      admit(ctx, state);
    },
    waiting: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext<QueueState>) => ((await ctx.get('items')) ?? []).length,
    ),
  },
});

export type Queue = typeof queue;

/** The order workers got in, by name. */
export const admitted: string[] = [];

export const worker = restate.service({
  name: 'worker',
  handlers: {
    work: async (ctx: restate.Context, job: { name: string; priority: number; queue: string }) => {
      const { id, promise } = ctx.awakeable();
      ctx.objectSendClient<Queue>({ name: 'queue' }, job.queue).push({ awakeable: id, priority: job.priority });
      await promise;
      await ctx.run(() => void admitted.push(job.name));
      ctx.objectSendClient<Queue>({ name: 'queue' }, job.queue).done();
      return `${job.name} done`;
    },
  },
});
