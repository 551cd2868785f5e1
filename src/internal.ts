/**
 * `dormant-lambda/internal`: the engine, the store port and the roles' cores,
 * for tools and tests that drive the runtime below the programming model (a
 * store of your own, the simulator, the runtime's own tests). Not a stable
 * surface: it follows the implementation and may change in any release.
 * Handlers are written against `dormant-lambda`.
 *
 * @example
 * ```ts
 * import { MemoryStore, IdSigner, registry, runAttempt, systemClock } from 'dormant-lambda/internal';
 * const deps = { store: new MemoryStore(), signer: new IdSigner(key), clock: systemClock, services: registry([greeter]) };
 * const outcome = await runAttempt(deps, { invocationId, epoch: 0 });
 * ```
 */
export {
  AttemptInterruptedError,
  JournalGapError,
  PinnedElsewhereError,
  journalGap,
  runAttempt,
  type AttemptDeps,
  type AttemptOutcome,
  type AttemptRequest,
} from './engine/attempt.ts';
export { systemClock, type Clock } from './engine/clock.ts';
export { IdSigner, newInvocationId, workflowInvocationId, isInvocationId, type SigningKeys, type IdSignerOptions } from './engine/ids.ts';

export type { Store, InvocationMeta, InvocationStatus, JournalEntry, Completion, ItemChange, ObjectLock, Timer } from './store/store.ts';
export { MemoryStore } from './store/memory.ts';
export { newInvocationMeta } from './store/invocation.ts';
export { decodeChange, type ChangeFeed, type StoreChange } from './store/changes.ts';

export { registry, catalogOf, type Catalog, type CatalogEntry } from './runtime/registry.ts';
export { decideWake, executeWake, type WakeAction, type WakeEffects } from './runtime/wake.ts';
export {
  IngressError,
  startInvocation,
  resolveAwakeable,
  rejectAwakeable,
  getStatus,
  getOutput,
  cancelInvocation,
  killInvocation,
  purgeInvocation,
  upgradeInvocation,
  type IngressDeps,
  type StartRequest,
  type InvocationStatusView,
  type InvocationStatusName,
  statusOf,
  type CompletionAnswer,
} from './runtime/invocations.ts';
export { invokeTarget, invokePayload, type InvokePayload } from './runtime/dispatch.ts';
export { pinnableVersion } from './runtime/lambda-handler.ts';
export { verifyDelivery, bodyDigest, formParams, isVerifier, type SignedDelivery, type Verdict } from './api/verifiers.ts';
