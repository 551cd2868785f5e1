/**
 * The rest of Restate's surface against Dormant: `ctx.request()`, calls by
 * name (`genericCall`), `RestatePromise` combinators and `map`,
 * `serde.schema`, invocation handles with `ctx.cancel` and `ctx.attach`,
 * and a programming error that fails once, clearly.
 */
import * as restate from 'dormant-lambda';
import { subscriptions } from './basics.ts';

/** The greeter's API, as a caller elsewhere might declare it. */
interface GreeterApi {
  greet: (ctx: restate.Context, input: { name: string }) => Promise<string>;
}

export const requests = restate.service({
  name: 'requests',
  handlers: {
    describe: async (ctx: restate.Context, input: { n: number }) => {
      const request = ctx.request();
      return {
        tenant: request.headers.get('x-tenant') ?? null,
        credentials: request.headers.has('authorization'),
        target: String(request.target),
        bodyBytes: request.body.length,
        n: input.n,
        isId: request.id.startsWith('inv_'),
      };
    },
    // A stub typed by a hand-written API: found by name, typed by the interface.
    greetByStub: async (ctx: restate.Context, name: string) => ctx.serviceClient<GreeterApi>({ name: 'greeter' }).greet({ name }),
    byName: async (ctx: restate.Context, user: string) =>
      ctx.genericCall({
        service: 'subscriptions',
        method: 'create',
        key: user,
        parameter: 'bronze',
        inputSerde: restate.serde.json,
        outputSerde: restate.serde.json,
      }),
  },
});

export const combinators = restate.service({
  name: 'combinators',
  handlers: {
    run: async (ctx: restate.Context) => {
      const fast = ctx.run(() => 'fast');
      const failing = ctx.run((): string => {
        throw new restate.TerminalError('no luck', { errorCode: 418 });
      });
      const both = await restate.RestatePromise.all([fast, ctx.run(() => 2)]);
      const first = await restate.RestatePromise.race([fast, ctx.sleep({ hours: 1 }).map(() => 'slept')]);
      const any = await restate.RestatePromise.any([failing, fast]);
      const settled = await restate.RestatePromise.allSettled([failing, fast]);
      const mapped = await failing.map((value, failure) => (failure ? `${failure.code} ${failure.message}` : value));
      return { both, first, any, settled: settled.map((s) => s.status), mapped };
    },
  },
});

/** A Standard Schema (what zod, valibot or arktype hand `serde.schema`), written out. */
const Greeting: restate.StandardSchema<unknown, { name: string }> = {
  '~standard': {
    version: 1,
    vendor: 'compat-test',
    validate: (value) =>
      typeof (value as { name?: unknown } | null)?.name === 'string'
        ? { value: value as { name: string } }
        : { issues: [{ message: 'name must be a string', path: ['name'] }] },
  },
};

export const greeter = restate.service({
  name: 'greeter',
  handlers: {
    greet: restate.createServiceHandler({ input: restate.serde.schema(Greeting) }, async (ctx: restate.Context, { name }) =>
      ctx.run(() => `Hello, ${name}!`),
    ),
  },
});

/** A long job: it waits for an awakeable nobody resolves, and reports a cancellation it sees. */
export const jobs = restate.service({
  name: 'jobs',
  handlers: {
    long: async (ctx: restate.Context, name: string) => {
      try {
        return await ctx.awakeable<string>().promise;
      } catch (e) {
        if (e instanceof restate.CancelledError) await ctx.run('clean up', () => `cleaned up ${name}`);
        throw e;
      }
    },
    short: async (_ctx: restate.Context, name: string) => `${name} finished`,
  },
});

export const boss = restate.object({
  name: 'boss',
  handlers: {
    start: async (ctx: restate.ObjectContext, name: string) => {
      const long = ctx.serviceSendClient(jobs).long(name);
      const short = ctx.serviceSendClient(jobs).short(name);
      ctx.set('long', await long.invocationId);
      ctx.set('short', await short.invocationId);
      return 'started';
    },
    results: async (ctx: restate.ObjectContext) => {
      const short = await ctx.attach<string>((await ctx.get<string>('short'))!);
      const long = (await ctx.get<string>('long'))!;
      ctx.cancel(long);
      const cancelled = await ctx
        .attach<string>(long)
        .catch((e: unknown) => (e instanceof restate.TerminalError ? `${e.code} ${e.message}` : String(e)));
      return { short, cancelled };
    },
  },
});

/** A body the code meant to pass but did not (undefined at run time): a programming error. */
const stepBodies: Record<string, (() => string) | undefined> = {};

export const mistakes = restate.service({
  name: 'mistakes',
  handlers: {
    run: async (ctx: restate.Context) => {
      await ctx.run(() => 'fine');
      return ctx.run(stepBodies.missing as () => string);
    },
  },
});

export { subscriptions };
