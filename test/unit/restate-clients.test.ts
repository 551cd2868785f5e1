/**
 * Restate's client and promise shapes on the engine: clients from `{ name }`
 * stubs, `rpc.opts` / `rpc.sendOpts` as the last argument, invocation ids
 * from calls and sends, Restate's `genericCall`, `RestatePromise`'s
 * combinators and `map`, `ctx.request()`, and `serde.schema`.
 */
import { describe, expect, it } from 'vitest';
import {
  InvocationIdParser,
  RestatePromise,
  RetryableError,
  TerminalError,
  handlers,
  object,
  rpc,
  serde,
  service,
  type Context,
  type ObjectContext,
  type ObjectSharedContext,
  type StandardSchema,
} from 'dormant-lambda';
import { MemoryRuntime } from 'dormant-lambda/testing';

const counter = object({
  name: 'counter',
  handlers: {
    add: async (ctx: ObjectContext, n: number) => {
      const v = ((await ctx.get<number>('n')) ?? 0) + n;
      ctx.set('n', v);
      return v;
    },
    read: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('n')) ?? 0),
  },
});

const echo = service({
  name: 'echo',
  handlers: {
    headers: async (ctx: Context) => Object.fromEntries(ctx.request().headers),
    hello: async (_ctx: Context, name: string) => `hello ${name}`,
  },
});

describe("Restate's clients and promises", () => {
  it('makes typed clients from { name } stubs, found by name among the services this function serves', async () => {
    // Prepare
    const rt = new MemoryRuntime([
      counter,
      echo,
      service({
        name: 'caller',
        handlers: {
          go: async (ctx: Context) => {
            const added = await ctx.objectClient<typeof counter>({ name: 'counter' }, 'k').add(2);
            const handle = ctx.objectSendClient<typeof counter>({ name: 'counter' }, 'k').add(3);
            const greeting = await ctx.serviceClient<typeof echo>({ name: 'echo' }).hello('Ada');
            return { added, greeting, sent: (await handle.invocationId).startsWith('inv_') };
          },
        },
      }),
    ]);

    // Act
    const id = await rt.start('caller', 'go');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toEqual({ added: 2, greeting: 'hello Ada', sent: true });
    expect((await rt.store.readState('O#counter#k')).get('n')).toBe('5');
  });

  it('refuses a stub naming a service this function does not serve, or one of another kind, once', async () => {
    for (const [body, message] of [
      [
        (ctx: Context) => ctx.serviceClient<typeof echo>({ name: 'nowhere' }).hello('x'),
        "ctx.serviceClient({ name: 'nowhere' }): no service 'nowhere' is served by this function (it serves caller, counter, echo)",
      ],
      [(ctx: Context) => ctx.serviceClient({ name: 'counter' }), "'counter' is a virtual object: use ctx.objectClient"],
      [(ctx: Context) => ctx.objectClient(counter, ''), 'calling object \'counter\' needs a key (a non-empty string), got ""'],
    ] as const) {
      // Prepare
      const rt = new MemoryRuntime([counter, echo, service({ name: 'caller', handlers: { go: async (ctx: Context) => body(ctx) } })]);

      // Act
      const id = await rt.start('caller', 'go');
      await rt.settle();

      // Assess
      expect(rt.outcomes.map((o) => o.kind)).toEqual(['failed']);
      expect((await rt.status(id)).failure?.message).toContain(message);
    }
  });

  it('passes rpc.opts headers and an idempotency key, and delays rpc.sendOpts sends', async () => {
    // Prepare
    const rt = new MemoryRuntime([
      counter,
      echo,
      service({
        name: 'caller',
        handlers: {
          go: async (ctx: Context) => {
            const headers = await ctx.serviceClient(echo).headers(rpc.opts({ headers: { 'X-Tenant': 'acme' } }));
            const first = ctx.objectClient(counter, 'k').add(1, rpc.opts({ idempotencyKey: 'once' }));
            const again = ctx.objectClient(counter, 'k').add(1, rpc.opts({ idempotencyKey: 'once' }));
            const [a, b] = await RestatePromise.all([first, again]);
            ctx.objectSendClient(counter, 'k').add(10, rpc.sendOpts({ delay: { minutes: 2 } }));
            return { headers, a, b, same: (await first.invocationId) === (await again.invocationId) };
          },
        },
      }),
    ]);

    // Act
    const id = await rt.start('caller', 'go');
    await rt.settle();

    // Assess: one invocation for the key, both calls got its result; the send waits 2 minutes
    expect(await rt.output(id)).toEqual({ headers: { 'x-tenant': 'acme' }, a: 1, b: 1, same: true });
    expect(rt.timers.map((t) => t.timer.at - rt.clock.now())).toEqual([120_000]);
    await rt.advance(120_000);
    expect((await rt.store.readState('O#counter#k')).get('n')).toBe('11');
  });

  it("calls by name in Restate's genericCall shape: bytes by default, or with serdes", async () => {
    // Prepare
    const rt = new MemoryRuntime([
      echo,
      service({
        name: 'caller',
        handlers: {
          go: async (ctx: Context) => {
            const raw = await ctx.genericCall({ service: 'echo', method: 'hello', parameter: new TextEncoder().encode('"bytes"') });
            const typed = await ctx.genericCall({
              service: 'echo',
              method: 'hello',
              parameter: 'json',
              inputSerde: serde.json,
              outputSerde: serde.json,
            });
            return { raw: new TextDecoder().decode(raw), typed };
          },
        },
      }),
    ]);

    // Act
    const id = await rt.start('caller', 'go');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toEqual({ raw: '"hello bytes"', typed: 'hello json' });
  });

  it('combines with RestatePromise.all/race/any/allSettled and maps outcomes, deterministically on replay', async () => {
    // Prepare
    const rt = new MemoryRuntime(
      [
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const one = ctx.run(() => 1);
              const boom = ctx.run((): number => {
                throw new TerminalError('boom', { errorCode: 418 });
              });
              const all = await RestatePromise.all([one, ctx.run(() => 2)]);
              const race = await RestatePromise.race([one, ctx.sleep({ days: 1 }).map(() => 'slept')]);
              const any = await RestatePromise.any([boom, one]);
              const settled = await RestatePromise.allSettled([boom, one]);
              const mapped = await boom.map((value, failure) => (failure ? `failed ${failure.code}` : value));
              const empty = await RestatePromise.all([]);
              return { all, race, any, settled: settled.map((s) => s.status), mapped, empty };
            },
          },
        }),
      ],
      { alwaysReplay: true },
    );

    // Act
    const id = await rt.start('s', 'h');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toEqual({
      all: [1, 2],
      race: 1,
      any: 1,
      settled: ['rejected', 'fulfilled'],
      mapped: 'failed 418',
      empty: [],
    });
  });

  it('describes the request: target, headers, body, idempotency key, and a signal aborted when the attempt ends', async () => {
    // Prepare
    let signal: AbortSignal | undefined;
    const rt = new MemoryRuntime([
      object({
        name: 'o',
        handlers: {
          h: async (ctx: ObjectContext, input: { n: number }) => {
            const r = ctx.request();
            signal = r.attemptCompletedSignal;
            return {
              target: String(r.target),
              key: r.target.key,
              body: new TextDecoder().decode(r.body),
              n: input.n,
              attemptHeaders: r.attemptHeaders.size,
              idempotencyKey: r.idempotencyKey,
              aborted: r.attemptCompletedSignal.aborted,
            };
          },
        },
      }),
    ]);

    // Act
    const id = await rt.start('o', 'h', '{"n":1}', 'k1', 'idem-1');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toEqual({
      target: 'o/k1/h',
      key: 'k1',
      body: '{"n":1}',
      n: 1,
      attemptHeaders: 0,
      idempotencyKey: 'idem-1',
      aborted: false,
    });
    expect(signal?.aborted).toBe(true);
  });

  it('ctx.cancel cancels another invocation at its next await; ctx.attach waits for a result, before or after it is there', async () => {
    // Prepare: a worker parked on an awakeable, with compensation when cancelled
    const rt = new MemoryRuntime([
      echo,
      service({
        name: 'worker',
        handlers: {
          work: async (ctx: Context) => {
            try {
              return await ctx.awakeable<string>().promise;
            } catch (e) {
              await ctx.run('undo', () => 'undone');
              throw e;
            }
          },
        },
      }),
      service({
        name: 'boss',
        handlers: {
          cancel: async (ctx: Context, id: string) => void ctx.cancel(id),
          attach: async (ctx: Context, id: string) => {
            try {
              return { got: await ctx.attach<string>(id) };
            } catch (e) {
              return { failed: `${(e as TerminalError).code} ${(e as Error).message}` };
            }
          },
        },
      }),
    ]);
    const worker = await rt.start('worker', 'work');
    const done = await rt.start('echo', 'hello', '"Ada"');
    await rt.settle();
    const early = await rt.start('boss', 'attach', JSON.stringify(worker)); // attaches while the worker waits
    const late = await rt.start('boss', 'attach', JSON.stringify(done)); // after echo finished
    const unknown = await rt.start('boss', 'attach', '"inv_AAAAAAAAAAAAAAAAAAAAAA"');
    await rt.settle();
    expect((await rt.status(early)).status).toBe('suspended');

    // Act
    await rt.start('boss', 'cancel', JSON.stringify(worker));
    await rt.settle();

    // Assess
    expect((await rt.status(worker)).failure).toMatchObject({ name: 'CancelledError' });
    expect((await rt.journal(worker)).map((e) => e.name)).toContain('undo');
    expect(await rt.output(early)).toEqual({ failed: `409 invocation ${worker} was cancelled` });
    expect(await rt.output(late)).toEqual({ got: 'hello Ada' });
    expect(await rt.output(unknown)).toEqual({
      failed: '404 ctx.attach: no invocation inv_AAAAAAAAAAAAAAAAAAAAAA (never started, or its result has expired)',
    });
  });

  it("refuses Restate's scopes and signals once, naming what to use; ctx.invocation(id) cancels and attaches", async () => {
    // Prepare
    const rt = new MemoryRuntime([
      echo,
      service({
        name: 's',
        handlers: {
          scope: async (ctx: Context) => ctx.scope('tenant-1'),
          signal: async (ctx: Context) => ctx.signal('go'),
          attachBy: async (ctx: Context, id: string) => ctx.invocation(InvocationIdParser.fromString(id)).attach<string>(),
        },
      }),
    ]);
    const done = await rt.start('echo', 'hello', '"Bo"');
    const scope = await rt.start('s', 'scope');
    const signal = await rt.start('s', 'signal');
    const attached = await rt.start('s', 'attachBy', JSON.stringify(done));

    // Act
    await rt.settle();

    // Assess
    expect((await rt.status(scope)).failure?.message).toContain("ctx.scope('tenant-1') at journal entry 0");
    expect((await rt.status(scope)).failure?.message).toContain('make clients on ctx itself');
    expect((await rt.status(signal)).failure?.message).toContain('use an awakeable (ctx.awakeable(), completed by id)');
    expect(rt.outcomes.filter((o) => o.invocationId === scope || o.invocationId === signal).map((o) => o.kind)).toEqual([
      'failed',
      'failed',
    ]);
    expect(await rt.output(attached)).toBe('hello Bo');
    expect(() => InvocationIdParser.fromString('job-7')).toThrow('expected an invocation id');
  });

  it("honours RetryableError's retryAfter in a step, within its attempt limit", async () => {
    // Prepare
    const tries: number[] = [];
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) =>
            ctx.run(
              () => {
                tries.push(rt.clock.now());
                if (tries.length < 3) throw new RetryableError('busy', { retryAfter: { milliseconds: 700 } });
                return 'done';
              },
              { maxRetryAttempts: 3 },
            ),
        },
      }),
    ]);

    // Act
    const id = await rt.start('s', 'h');
    await rt.settle();

    // Assess: 700 ms between attempts, not the 50 ms default backoff
    expect(await rt.output(id)).toBe('done');
    expect(tries.slice(1).map((t, i) => t - tries[i]!)).toEqual([700, 700]);
  });

  it('checks input against serde.schema, failing the invocation once with a 400 when it does not match', async () => {
    // Prepare: a hand-written Standard Schema (what zod and others provide)
    const Name: StandardSchema<unknown, { name: string }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) =>
          typeof (value as { name?: unknown })?.name === 'string'
            ? { value: value as { name: string } }
            : { issues: [{ message: 'expected a string', path: [{ key: 'name' }] }] },
      },
    };
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          greet: handlers.handler({ input: serde.schema(Name) }, async (_ctx: Context, { name }: { name: string }) => `hi ${name}`),
        },
      }),
    ]);

    // Act
    const good = await rt.start('s', 'greet', '{"name":"Ada"}');
    const bad = await rt.start('s', 'greet', '{"name":7}');
    await rt.settle();

    // Assess
    expect(await rt.output(good)).toBe('hi Ada');
    expect(rt.outcomes.filter((o) => o.invocationId === bad).map((o) => o.kind)).toEqual(['failed']);
    expect((await rt.status(bad)).failure).toMatchObject({
      code: 400,
      message: expect.stringContaining('the input of s.greet could not be read: does not match the schema: name: expected a string'),
    });
  });
});
