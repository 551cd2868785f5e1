/**
 * The journal view of entries written before the runtime recorded when
 * (no `writtenAt`: every entry of an earlier release, DESIGN rule 13): they
 * read in order with what they recorded, just without a time, and a later
 * attempt's trace makes no guess about a wait it cannot date.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { MemoryStore, newInvocationId, newInvocationMeta } from 'dormant-lambda/internal';
import { getJournal } from '../../src/runtime/journal-view.ts';
import { otelTracing } from '../../src/runtime/tracing.ts';

async function oldJournal() {
  const store = new MemoryStore();
  const id = newInvocationId();
  const now = Date.parse('2026-01-01T00:00:00Z');
  await store.createInvocation(
    newInvocationMeta({ id, service: 'review', handler: 'request', kind: 'service', shared: false, input: '{}', now }),
  );
  // As an earlier release wrote them: no writtenAt.
  await store.append(id, { index: 0, kind: 'run', name: 'fetch', value: '"doc"' });
  await store.append(id, { index: 1, kind: 'awakeable' });
  await store.complete(id, { key: 'C#00000001', value: '{"approved":true}', at: now + 60_000 });
  return { store, id, now };
}

describe('journals written before writtenAt', () => {
  it('read in order with their values and completions, without a time', async () => {
    const { store, id } = await oldJournal();
    const view = await getJournal({ store }, id);
    expect(view.entries.map((e) => [e.index, e.kind, e.name])).toEqual([
      [0, 'run', 'fetch'],
      [1, 'awakeable', undefined],
    ]);
    expect(view.entries[0]).toMatchObject({ outcome: { value: '"doc"' } });
    expect(view.entries[0]!.writtenAt).toBeUndefined();
    expect(view.entries[1]!.completion).toMatchObject({ how: 'resolved', value: '{"approved":true}' });
  });

  it('give a resumed attempt no suspended or wake span it could only guess', async () => {
    const { store, id, now } = await oldJournal();
    const exporter = new InMemorySpanExporter();
    const tracing = otelTracing({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) });
    const meta = (await store.getInvocation(id))!;
    const loaded = await store.load(id);
    const trace = tracing.attemptStarted(meta, now + 120_000);
    trace.loaded(loaded.journal, loaded.completions);
    trace.ended({ kind: 'completed', invocationId: id, output: '{}' });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['attempt review/request']);
  });
});
