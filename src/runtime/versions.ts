/**
 * Handler function versions (DESIGN rule 12): the alias new work goes
 * through. Every deploy that changes a handler function publishes a version
 * and moves the alias to it; an invocation is pinned to the version its
 * first attempt ran on.
 */

/**
 * The alias of every handler function that new invocations are invoked
 * through (the CDK app creates it; the local plane has one too).
 *
 * @example
 * ```ts
 * `${functionName}:${LIVE_ALIAS}` // 'shop-handlers:live'
 * ```
 */
export const LIVE_ALIAS = 'live';
