/**
 * A store whose chosen calls fail the way DynamoDB fails under load: a
 * throttle that outlasted the SDK's retries, a dropped connection. The call
 * does not reach the table, so nothing is written, unless it is told the
 * write landed and only its reply was lost.
 */
import type { Store } from 'dormant-lambda/internal';
import { interceptCalls } from './intercept.ts';

/**
 * What a failed call threw, as the DynamoDB SDK names its throttle.
 *
 * @example
 * ```ts
 * throw throttle('suspend');
 * ```
 */
export function throttle(operation: string): Error {
  return Object.assign(new Error(`${operation}: the level of configured provisioned throughput for the table was exceeded`), {
    name: 'ProvisionedThroughputExceededException',
  });
}

type Rule = { method: string; when: (...args: any[]) => boolean; times: number; landed: boolean };

/**
 * Wraps a store so chosen calls throw instead of reaching it.
 *
 * @example
 * ```ts
 * const faults = new StoreFaults(rt.store);
 * faults.fail('append', { when: (_id, entry) => entry.index === 1 });
 * const rt2 = new MemoryRuntime(defs, { store: faults.store });
 * ```
 */
export class StoreFaults {
  readonly store: Store;
  /** The calls that were made to fail, in order. */
  readonly failed: { method: string; args: unknown[] }[] = [];
  readonly #rules: Rule[] = [];

  constructor(target: Store) {
    this.store = interceptCalls(target, async (method, args, call) => {
      const rule = this.#rules.find((r) => r.method === method && r.times > 0 && r.when(...args));
      if (!rule) return call();
      rule.times--;
      this.failed.push({ method, args });
      if (rule.landed) await call();
      throw throttle(method);
    });
  }

  /** Makes the next `times` (default 1) calls of `method` that match `when` throw; with `landed`, after the write reached the store. */
  fail<M extends keyof Store & string>(
    method: M,
    options: { when?: (...args: Parameters<Store[M]>) => boolean; times?: number; landed?: boolean } = {},
  ): void {
    this.#rules.push({
      method,
      when: (options.when ?? (() => true)) as Rule['when'],
      times: options.times ?? 1,
      landed: options.landed ?? false,
    });
  }
}
