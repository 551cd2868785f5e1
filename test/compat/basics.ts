/**
 * Restate's basics, written against Dormant with only the import changed:
 * durable steps without names, a virtual object called through a typed
 * `{ name }` stub, an awakeable, durable timers given as durations, and a
 * delayed one-way send with `rpc.sendOpts`.
 */
import * as restate from 'dormant-lambda';

export const subscriptions = restate.object({
  name: 'subscriptions',
  handlers: {
    create: async (ctx: restate.ObjectContext, plan: string) => {
      ctx.set('plan', plan);
      return `created ${plan} for ${ctx.key}`;
    },
    cancel: async (ctx: restate.ObjectContext) => {
      ctx.clear('plan');
    },
    plan: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => ctx.get<string>('plan')),
  },
});

/** What the building blocks call, as Restate's examples stub it: the type of the definition, and its name. */
export type SubscriptionsApi = typeof subscriptions;
const Subscriptions: SubscriptionsApi = { name: 'subscriptions' };

/** Step bodies run, by payment id: a replay must not run one again. */
export const charged: string[] = [];

export const payments = restate.service({
  name: 'payments',
  handlers: {
    subscribe: async (ctx: restate.Context, req: { user: string; plans: string[] }) => {
      const paymentId = ctx.rand.uuidv4();
      const ref = await ctx.run(() => {
        charged.push(paymentId);
        return `pay-${paymentId.slice(0, 8)}`;
      });
      const created: string[] = [];
      for (const plan of req.plans) created.push(await ctx.run(() => `${req.user}/${plan}/${ref}`));
      await ctx.sleep({ milliseconds: 50 });
      return { ref, created };
    },
  },
});

export const buildingBlocks = restate.service({
  name: 'buildingBlocks',
  handlers: {
    run: async (ctx: restate.Context, user: string) => {
      const created = await ctx.objectClient(Subscriptions, user).create('gold');
      ctx.objectSendClient(Subscriptions, user).create('silver');
      const { id, promise } = ctx.awakeable<string>();
      ctx.resolveAwakeable(id, 'resolved by id');
      const got = await promise;
      await ctx.sleep({ milliseconds: 100 });
      const late = await ctx
        .awakeable<string>()
        .promise.orTimeout({ milliseconds: 200 })
        .catch((e: unknown) => (e instanceof restate.TimeoutError ? 'timed out' : `failed: ${String(e)}`));
      ctx.objectSendClient(Subscriptions, user).cancel(restate.rpc.sendOpts({ delay: { seconds: 1 } }));
      return { created, got, late };
    },
  },
});
