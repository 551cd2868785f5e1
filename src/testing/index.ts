/**
 * `dormant-lambda/testing`: unit tests of your own handlers in vitest (or
 * jest in its ES module mode), with no Java, no ports and no AWS. {@link TestRuntime} runs the real
 * engine, wake rule and ingress over an in-memory store with a test clock: a
 * test starts an invocation, sees it suspend with the awakeable ids it
 * awaits, resolves, rejects or heartbeats one by id, lets time pass over sleeps and
 * timeouts (`advance`, or `skipTime`), calls objects and workflows (shared
 * handlers too), reads state and the output; `alwaysReplay` replays every
 * step so non-determinism fails the test. {@link MemoryRuntime} is the same
 * runtime driven step by step, for tests that control every wake-up.
 *
 * @example
 * ```ts
 * import { expect, it } from 'vitest';
 * import { TestRuntime } from 'dormant-lambda/testing';
 * import { TerminalError } from 'dormant-lambda';
 * import { review } from '../src/services.ts';
 *
 * it('approves once the reviewer says so', async () => {
 *   const rt = new TestRuntime([review], { alwaysReplay: true });
 *   const run = await rt.start(review, 'request', { title: 'Q3 report' });
 *   expect(await run.status()).toBe('suspended');
 *
 *   const [awakeableId] = await run.awakeables();
 *   await rt.resolveAwakeable(awakeableId!, { approved: true });
 *   expect(await run.output()).toEqual({ title: 'Q3 report', approved: true });
 * });
 *
 * it('fails when the reviewer rejects', async () => {
 *   const rt = new TestRuntime([review]);
 *   const run = await rt.start(review, 'request', { title: 'Q3 report' });
 *   await rt.rejectAwakeable((await run.awakeables())[0]!, 'too long');
 *   await expect(run.output()).rejects.toThrow(TerminalError);
 * });
 *
 * it('times out after a day', async () => {
 *   const rt = new TestRuntime([review]);
 *   const run = await rt.start(review, 'request', { title: 'Q3 report' });
 *   await rt.advance(24 * 3_600_000);
 *   await expect(run.output()).rejects.toThrow('timed out');
 * });
 * ```
 */
export { TestRuntime, TestInvocation, type TestRuntimeOptions, type StartOptions } from './test-runtime.ts';
export { MemoryRuntime, TestClock, TEST_SIGNING_KEY } from './memory-runtime.ts';
export type { Clock } from '../engine/clock.ts';
export type { InvocationStatusView, InvocationStatusName } from '../runtime/invocations.ts';
export type { AttemptDeps, AttemptOutcome } from '../engine/attempt.ts';
export type { JournalEntry } from '../store/store.ts';
