/**
 * OpenTelemetry spans for the handler role: one trace per invocation,
 * across every Lambda invocation that runs it and the time it spends
 * suspended between them.
 *
 * Spans go to whatever `TracerProvider` the user registered (an OTLP or
 * X-Ray exporter); with none, the API's no-op tracer records nothing and
 * costs next to nothing. The trace's parent is the `traceparent` header of
 * the request that started the invocation (kept in its meta, like every
 * header the handler may read), or, without one, a span context derived
 * from the invocation id, so every attempt of it lands in one trace with no
 * stored state. An invocation started by another one carries that
 * attempt's `traceparent`, so callees join their caller's trace.
 *
 * Each attempt emits, under that parent:
 * - `pending` (created → first attempt) on its first attempt, or
 *   `suspended` (last entry written → the completion that ended the wait)
 *   and `wake` (that completion → this attempt) on a later one;
 * - `attempt <service>/<handler>`, with a child per new journal entry
 *   (`run <name>` around the step's body; `sleep`, `awakeable`, `call …`).
 * Replayed entries were emitted by the attempt that wrote them.
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context as otelContext,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import type { Tracing } from '../engine/tracing.ts';
import type { Completion, InvocationMeta, JournalEntry } from '../store/store.ts';

/** The instrumentation scope of Dormant's spans. */
export const TRACER_NAME = 'dormant-lambda';

/**
 * How long the handler waits for its spans to be exported before it
 * returns (a suspension marker included): Lambda may freeze the process
 * right after, and a span still in a batch would be lost. Bounded, so a
 * slow collector cannot keep a suspended invocation billed (rule 6).
 */
export const DEFAULT_TRACE_FLUSH_MS = 500;

/**
 * Options of {@link otelTracing}.
 *
 * @example
 * ```ts
 * const options: OtelTracingOptions = { tracerProvider: provider, flushMs: 300 };
 * ```
 */
export interface OtelTracingOptions {
  /** Where spans go. Default: the provider registered with `@opentelemetry/api` (none: no spans). */
  tracerProvider?: TracerProvider;
  /** The most the handler waits for spans to be exported before returning. Default {@link DEFAULT_TRACE_FLUSH_MS}. */
  flushMs?: number;
}

/**
 * Tracing through OpenTelemetry, and the flush the handler awaits before
 * it returns.
 *
 * @example
 * ```ts
 * const tracing = otelTracing();
 * const outcome = await runAttempt({ ...deps, tracing }, request);
 * await tracing.flush();
 * ```
 */
export function otelTracing(options: OtelTracingOptions = {}): Tracing & { flush(): Promise<void> } {
  const provider = () => options.tracerProvider ?? trace.getTracerProvider();
  const flushMs = options.flushMs ?? DEFAULT_TRACE_FLUSH_MS;
  return {
    attemptStarted(meta, at) {
      const tracer = provider().getTracer(TRACER_NAME);
      const parent = invocationParent(meta);
      const attributes = invocationAttributes(meta);
      const span = tracer.startSpan(
        `attempt ${meta.service}/${meta.handler}`,
        { startTime: at, attributes: { ...attributes, 'dormant.epoch': meta.epoch } },
        parent,
      );
      const inAttempt = trace.setSpan(parent, span);
      const recording = span.isRecording();
      const context = span.spanContext();
      // Steps still open when the attempt ends (a step suspended on a long retry backoff) end with it.
      const openSteps = new Set<Span>();
      const child = (name: string, start: number, end: number, extra: Attributes, where: Context = inAttempt) =>
        tracer.startSpan(name, { startTime: start, attributes: { ...attributes, ...extra } }, where).end(end);
      return {
        // Only a recorded span is worth joining: with no provider, callees' headers stay as the call gave them.
        traceparent: recording ? `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}` : undefined,
        loaded(journal, completions) {
          if (!recording) return;
          for (const s of beforeAttempt(meta, at, journal, completions)) child(s.name, s.start, s.end, s.attributes, parent);
        },
        async inStep(index, name, body) {
          const step = tracer.startSpan(
            `run${name === undefined ? '' : ` ${name}`}`,
            { attributes: { ...attributes, 'dormant.entry.index': index, 'dormant.entry.kind': 'run' } },
            inAttempt,
          );
          openSteps.add(step);
          try {
            const result = await otelContext.with(trace.setSpan(inAttempt, step), body);
            const failure = (result as { failure?: { message: string } } | undefined)?.failure;
            if (failure) failed(step, failure.message);
            return result;
          } catch (error) {
            failed(step, error instanceof Error ? error.message : String(error));
            throw error;
          } finally {
            openSteps.delete(step);
            step.end();
          }
        },
        written(entry, allocatedAt, writtenAt) {
          if (!recording) return;
          const extra: Attributes = { 'dormant.entry.index': entry.index, 'dormant.entry.kind': entry.kind };
          if (entry.name !== undefined) extra['dormant.entry.name'] = entry.name;
          child(entryName(entry), allocatedAt, writtenAt, extra);
        },
        ended(outcome, error) {
          for (const step of openSteps) step.end();
          openSteps.clear();
          if (outcome) {
            span.setAttribute('dormant.outcome', outcome.kind);
            if (outcome.kind === 'suspended') span.setAttribute('dormant.awaiting', outcome.awaiting);
            if (outcome.kind === 'failed' || outcome.kind === 'retrying') failed(span, outcome.failure.message);
          } else failed(span, error instanceof Error ? error.message : String(error));
          span.end();
        },
      };
    },
    async flush() {
      // The global provider is a proxy; the SDK's provider behind it flushes.
      const p = provider() as TracerProvider & { getDelegate?: () => TracerProvider };
      const target = (p.getDelegate?.() ?? p) as TracerProvider & { forceFlush?: () => Promise<void> };
      if (typeof target.forceFlush !== 'function') return;
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, flushMs);
        timer.unref();
      });
      // A failing exporter must not fail the attempt: its outcome is already durable.
      await Promise.race([target.forceFlush().catch(() => undefined), budget]);
      clearTimeout(timer);
    },
  };
}

function failed(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function invocationAttributes(meta: InvocationMeta): Attributes {
  const attributes: Attributes = {
    'dormant.invocation.id': meta.id,
    'dormant.service': meta.service,
    'dormant.handler': meta.handler,
  };
  if (meta.key !== undefined) attributes['dormant.key'] = meta.key;
  return attributes;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span every attempt of the invocation is a child of: the starting
 * request's `traceparent` when it had a valid one, else one derived from
 * the invocation id (the same for every attempt, with nothing stored).
 *
 * @example
 * ```ts
 * trace.getSpanContext(invocationParent(meta))?.traceId // the invocation's trace
 * ```
 */
export function invocationParent(meta: Pick<InvocationMeta, 'id' | 'headers'>): Context {
  const given = TRACEPARENT.exec(meta.headers?.traceparent ?? '');
  if (given && !/^0+$/.test(given[1]!) && !/^0+$/.test(given[2]!)) {
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: given[1]!,
      spanId: given[2]!,
      traceFlags: parseInt(given[3]!, 16) & 1,
      isRemote: true,
    });
  }
  const digest = createHash('sha256').update(`dormant-trace:${meta.id}`).digest('hex');
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    // Sampled: a user who registered an exporter wants the invocation's spans.
    traceFlags: 1,
    isRemote: true,
  });
}

function entryName(entry: JournalEntry): string {
  return entry.name === undefined ? entry.kind : `${entry.kind} ${entry.name}`;
}

interface PastSpan {
  name: string;
  start: number;
  end: number;
  attributes: Attributes;
}

/**
 * What happened to the invocation between its previous attempt and this
 * one, from what this attempt loaded: on a first attempt, the time it was
 * pending; on a later one, the time it was suspended (from the last entry
 * written to the completion that ended the wait) and the wake-up (from that
 * completion to this attempt). A later attempt with no completion since the
 * last entry (a retry, a hand-on) reports nothing here.
 */
function beforeAttempt(
  meta: InvocationMeta,
  at: number,
  journal: ReadonlyMap<number, JournalEntry>,
  completions: ReadonlyMap<string, Completion>,
): PastSpan[] {
  if (journal.size === 0) return [{ name: 'pending', start: meta.createdAt, end: at, attributes: {} }];
  let lastWritten: number | undefined;
  for (const entry of journal.values()) if (entry.writtenAt !== undefined) lastWritten = Math.max(lastWritten ?? 0, entry.writtenAt);
  // Entries of earlier releases have no time: the wait's start is unknown.
  if (lastWritten === undefined) return [];
  let woke: Completion | undefined;
  for (const completion of completions.values())
    if (completion.at > lastWritten && completion.at <= at && (!woke || completion.at < woke.at)) woke = completion;
  if (!woke) return [];
  const how = { 'dormant.completion.key': woke.key, 'dormant.completion.outcome': woke.failure ? 'rejected' : 'resolved' };
  return [
    { name: 'suspended', start: lastWritten, end: woke.at, attributes: how },
    { name: 'wake', start: woke.at, end: at, attributes: how },
  ];
}
