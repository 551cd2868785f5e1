/**
 * Whether a request comes from the developer's own machine and pages: what
 * the open local plane and the `dormant ui` proxy (both acting with the
 * developer's authority, with no key) check before anything else.
 */

/** Host names that reach only this machine. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Why a request may not use the developer's authority: `foreign_host`, a
 * `Host` that is not loopback (or one of `hosts`), as a rebound DNS name
 * sends; `cross_origin`, a state-changing request from another origin (a
 * page elsewhere driving the developer's browser). Undefined when it may.
 *
 * @example
 * ```ts
 * foreignness({ method: 'PATCH', host: 'localhost:8080', origin: 'https://evil.example' }) // 'cross_origin'
 * ```
 */
export function foreignness(
  request: { method: string; host?: string | undefined; origin?: string | undefined; secFetchSite?: string | undefined },
  hosts: readonly string[] = [],
): 'foreign_host' | 'cross_origin' | undefined {
  const { host, origin } = request;
  const hostname = host?.replace(/:\d+$/, '').toLowerCase();
  if (hostname !== undefined && ![...LOOPBACK_HOSTS, ...hosts].includes(hostname)) return 'foreign_host';
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return undefined;
  let sameOrigin = origin === undefined;
  if (origin !== undefined && host !== undefined) {
    try {
      sameOrigin = new URL(origin).host.toLowerCase() === host.toLowerCase();
    } catch {
      sameOrigin = false;
    }
  }
  return sameOrigin && request.secFetchSite !== 'cross-site' ? undefined : 'cross_origin';
}
