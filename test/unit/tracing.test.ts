/**
 * OpenTelemetry spans of the handler role: one trace per invocation across
 * a suspension and its wake-up, replayed steps emitted once, spans nested
 * under the step that made them, callees in their caller's trace, the
 * spans exported before the handler returns (bounded), and `ctx.console`
 * writing structured lines with the invocation's fields, silent on replay.
 */
import { context as otelContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler, service, type Context } from 'dormant-lambda';
import { IdSigner, MemoryStore, newInvocationId, newInvocationMeta } from 'dormant-lambda/internal';
import { lambdaTelemetry, type StructuredLogger } from '../../src/runtime/telemetry.ts';

const notes = service({
  name: 'notes',
  handlers: { write: async (_ctx: Context, text: string) => text },
});

const flow = service({
  name: 'flow',
  handlers: {
    go: async (ctx: Context) => {
      const fetched = await ctx.run('fetch', async () => {
        // A span the step body makes (an HTTP client's, say) nests under the step.
        trace.getTracer('user-code').startSpan('GET /orders').end();
        return 1;
      });
      ctx.console.log('before the wait: %d', fetched);
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('hand out', async () => id);
      ctx.serviceSendClient(notes).write('noted');
      const answer = await promise;
      ctx.console.warn('after the wait: %s', answer);
      return ctx.run('finish', async () => `${answer}!`);
    },
  },
});

const signer = new IdSigner('tracing-signing-key-0123456789abc');
const lambdaContext = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' };
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  otelContext.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  contextManager.disable();
  otelContext.disable();
});

/** A provider whose batch would hold spans for a minute: only the handler's flush exports them in time. */
function batchingProvider(exporter: SpanExporter) {
  return new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000 })] });
}

function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, ...extra: unknown[]) =>
      lines.push({ level, message, fields: (extra[0] ?? {}) as Record<string, unknown> });
  const logger: StructuredLogger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
  return { logger, lines };
}

async function start(store: MemoryStore, headers?: Record<string, string>) {
  const id = newInvocationId();
  await store.createInvocation(
    newInvocationMeta({ id, service: 'flow', handler: 'go', kind: 'service', shared: false, input: '', now: Date.now(), headers }),
  );
  return id;
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it('emits one trace per invocation across a suspension, each step once, and flushes before returning', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = batchingProvider(exporter);
    // The user's code traces through the global provider; Dormant is given the same one.
    trace.setGlobalTracerProvider(provider);
    const store = new MemoryStore();
    const { logger, lines } = recordingLogger();
    const handler = lambdaHandler({
      services: [flow, notes],
      runtime: { store, signer, telemetry: lambdaTelemetry({ tableName: 't', logger: recordingLogger().logger, handlerLogger: logger }) },
      tracing: { tracerProvider: provider },
    });
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const id = await start(store, { traceparent: `00-${caller.traceId}-${caller.spanId}-01` });

    const first = await handler({ invocationId: id, epoch: 0 }, lambdaContext);
    expect(first.status).toBe('suspended');
    // Exported by the handler's flush, not the batch's minute.
    const atSuspension = exporter.getFinishedSpans();
    expect(named(atSuspension, 'attempt flow/go')).toHaveLength(1);

    const awaited = (first as { awaiting: string[] }).awaiting[0]!;
    await store.complete(id, { key: awaited, value: JSON.stringify('yes'), at: Date.now() });
    const epoch = (await store.getInvocation(id))!.epoch;
    const second = await handler({ invocationId: id, epoch }, lambdaContext);
    expect(second).toMatchObject({ status: 'completed', output: JSON.stringify('yes!') });

    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['dormant.invocation.id'] === id || s.name === 'GET /orders');
    // One trace: the one the starting request carried.
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([caller.traceId]));
    const attempts = named(spans, 'attempt flow/go');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(parentOf(a)).toBe(caller.spanId);
    expect(attempts.map((a) => a.attributes['dormant.outcome'])).toEqual(['suspended', 'completed']);
    const [one, two] = attempts.map((a) => a.spanContext().spanId);

    // Each step once, in the attempt that ran it: replay emits nothing.
    expect(named(spans, 'run fetch').map(parentOf)).toEqual([one]);
    expect(named(spans, 'run hand out').map(parentOf)).toEqual([one]);
    expect(named(spans, 'awakeable').map(parentOf)).toEqual([one]);
    expect(named(spans, 'send notes.write').map(parentOf)).toEqual([one]);
    expect(named(spans, 'run finish').map(parentOf)).toEqual([two]);
    // What the step body traced is the step's child.
    expect(named(spans, 'GET /orders').map(parentOf)).toEqual([named(spans, 'run fetch')[0]!.spanContext().spanId]);

    // The time before each attempt: pending, then suspended until the completion, then its wake-up.
    expect(named(spans, 'pending').map(parentOf)).toEqual([caller.spanId]);
    const [suspended] = named(spans, 'suspended');
    const [wake] = named(spans, 'wake');
    expect(suspended!.attributes['dormant.completion.key']).toBe(awaited);
    expect(parentOf(suspended!)).toBe(caller.spanId);
    expect(parentOf(wake!)).toBe(caller.spanId);
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    expect(ms(suspended!.endTime)).toBeLessThanOrEqual(ms(wake!.startTime) + 1);
    expect(ms(wake!.endTime)).toBeLessThanOrEqual(ms(attempts[1]!.startTime) + 1);

    // The callee joins its caller's trace, as the child of the attempt that sent it.
    const callee = store.items().find((i) => i.sk === 'meta' && i.service === 'notes');
    expect(JSON.stringify(callee)).toContain(`00-${caller.traceId}-${one}-01`);

    // ctx.console: structured lines with the invocation's fields; the first line is not repeated by the replay.
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'before the wait: 1'],
      ['warn', 'after the wait: yes'],
    ]);
    expect(lines[0]!.fields).toMatchObject({ invocationId: id, service: 'flow', handler: 'go', requestId: 'req-1' });
    expect(lines[1]!.fields.epoch).toBe(epoch + 1);
    trace.disable();
  });

  it('puts every attempt of an invocation started without a traceparent into one trace of its own', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = batchingProvider(exporter);
    const store = new MemoryStore();
    const handler = lambdaHandler({ services: [flow, notes], runtime: { store, signer }, tracing: { tracerProvider: provider } });
    const ids = [await start(store), await start(store)];
    for (const id of ids) {
      const first = await handler({ invocationId: id, epoch: 0 }, lambdaContext);
      await store.complete(id, { key: (first as { awaiting: string[] }).awaiting[0]!, value: '"ok"', at: Date.now() });
      await handler({ invocationId: id, epoch: (await store.getInvocation(id))!.epoch }, lambdaContext);
    }
    const traces = ids.map(
      (id) =>
        new Set(
          exporter
            .getFinishedSpans()
            .filter((s) => s.attributes['dormant.invocation.id'] === id)
            .map((s) => s.spanContext().traceId),
        ),
    );
    expect(traces.map((t) => t.size)).toEqual([1, 1]);
    expect([...traces[0]!][0]).not.toBe([...traces[1]!][0]);
  });

  it('returns within its flush budget when the exporter hangs', async () => {
    const hanging: SpanExporter = { export: () => undefined, shutdown: async () => undefined };
    const provider = batchingProvider(hanging);
    const store = new MemoryStore();
    const handler = lambdaHandler({
      services: [flow, notes],
      runtime: { store, signer },
      tracing: { tracerProvider: provider, flushMs: 50 },
    });
    const id = await start(store);
    const began = Date.now();
    const outcome = await handler({ invocationId: id, epoch: 0 }, lambdaContext);
    expect(outcome.status).toBe('suspended');
    // Generous against a loaded machine; without the budget it would never return.
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it('costs nothing and changes nothing with no provider registered or tracing off', async () => {
    for (const tracing of [undefined, false as const]) {
      const store = new MemoryStore();
      const handler = lambdaHandler({ services: [flow, notes], runtime: { store, signer }, ...(tracing === false ? { tracing } : {}) });
      const id = await start(store);
      expect((await handler({ invocationId: id, epoch: 0 }, lambdaContext)).status).toBe('suspended');
      // Nothing recorded, nothing propagated: the callee's headers are the call's (none).
      const callee = store.items().find((i) => i.sk === 'meta' && i.service === 'notes');
      expect(callee).toBeDefined();
      expect(JSON.stringify(callee)).not.toContain('traceparent');
    }
  });
});
