/**
 * One way to put test code around a store's calls, for the gates of the race
 * tests and the faults of the attempt-ending tests.
 */

/**
 * A view of `target` whose method calls pass through `around`, which decides
 * when, and whether, the real call (`call`) runs. Other properties pass
 * through untouched.
 *
 * @example
 * ```ts
 * const counted = interceptCalls(store, async (method, _args, call) => {
 *   calls.push(method);
 *   return call();
 * });
 * ```
 */
export function interceptCalls<S extends object>(
  target: S,
  around: (method: string, args: unknown[], call: () => Promise<unknown>) => Promise<unknown>,
): S {
  return new Proxy(target, {
    get: (t, property, receiver) => {
      const value = Reflect.get(t, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => around(property, args, async () => (value as (...a: unknown[]) => unknown).apply(t, args));
    },
  });
}
