/**
 * Restate's workflow with signals against Dormant: `run` sends a secret out
 * from a step and awaits the `link-clicked` promise (awaited directly);
 * `click` resolves it from a shared handler; the run then resolves
 * `verified`, which other shared handlers wait on, with and without a
 * timeout.
 */
import * as restate from 'dormant-lambda';

/** Emails the run sent, by workflow key: the secret a user would click. */
export const outbox = new Map<string, string>();

export const signup = restate.workflow({
  name: 'signup',
  handlers: {
    run: async (ctx: restate.WorkflowContext, user: { name: string; email: string }) => {
      const secret = ctx.rand.uuidv4();
      await ctx.run(() => `user ${user.name} <${user.email}> created`);
      await ctx.run(() => void outbox.set(ctx.key, secret));
      ctx.set('stage', 'waiting for the click');
      const clicked = await ctx.promise<string>('link-clicked');
      const verified = clicked === secret;
      ctx.set('stage', verified ? 'verified' : 'wrong secret');
      await ctx.promise<boolean>('verified').resolve(verified);
      return verified;
    },
    click: async (ctx: restate.WorkflowSharedContext, request: { secret: string }) => {
      await ctx.promise<string>('link-clicked').resolve(request.secret);
    },
    // A shared handler waiting for what the run decides (no timeout).
    awaitVerified: async (ctx: restate.WorkflowSharedContext) => ctx.promise<boolean>('verified'),
    // The common pattern: the run's result, or give up after a while.
    awaitOrGiveUp: async (ctx: restate.WorkflowSharedContext, seconds: number) =>
      ctx
        .promise<boolean>('verified')
        .get()
        .orTimeout({ seconds })
        .map((verified, failure) => (failure ? `gave up: ${failure.message}` : verified ? 'verified' : 'not verified')),
    stage: async (ctx: restate.WorkflowSharedContext) => (await ctx.get<string>('stage')) ?? 'not started',
  },
});

export type SignupApi = typeof signup;
