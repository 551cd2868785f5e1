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

/**
 * Which published versions of a handler function can be deleted: those
 * older than the alias's, that no unfinished invocation is pinned to. The
 * alias's version, newer ones (a rolled-back alias) and `$LATEST` are kept.
 *
 * @example
 * ```ts
 * prunableVersions({ published: ['1', '2', '3', '4'], aliasVersion: '4', pinned: new Map([['2', 5]]) }) // ['1', '3']
 * ```
 */
export function prunableVersions(o: { published: readonly string[]; aliasVersion: string; pinned: ReadonlyMap<string, number> }): string[] {
  const alias = Number(o.aliasVersion);
  if (!Number.isInteger(alias) || alias < 1)
    throw new Error(`the alias points at '${o.aliasVersion}', not a published version: prune nothing`);
  return o.published
    .filter((v) => /^[0-9]+$/.test(v) && Number(v) < alias && (o.pinned.get(v) ?? 0) === 0)
    .sort((a, b) => Number(a) - Number(b));
}

/**
 * The Lambda operations pruning needs (an adapter over `@aws-sdk/client-lambda`
 * in the `dormant versions` command; a fake in tests).
 *
 * @example
 * ```ts
 * const lambda: FunctionVersions = { published: async () => ['1', '2'], aliasVersion: async () => '2', remove: async () => {} };
 * ```
 */
export interface FunctionVersions {
  /** Published versions of the function (not `$LATEST`). */
  published(functionName: string): Promise<string[]>;
  /** The version the alias points at. */
  aliasVersion(functionName: string, alias: string): Promise<string>;
  /** Deletes one published version. */
  remove(functionName: string, version: string): Promise<void>;
}

/**
 * What {@link pruneVersions} found and did.
 *
 * @example
 * ```ts
 * { aliasVersion: '4', versions: [{ version: '2', invocations: 5, prunable: false }, …], deleted: ['1', '3'] }
 * ```
 */
export interface PruneReport {
  aliasVersion: string;
  /** Every published version with the unfinished invocations pinned to it. */
  versions: { version: string; invocations: number; prunable: boolean }[];
  deleted: string[];
}

/**
 * Lists a handler function's versions with the unfinished invocations pinned
 * to each, and (unless `dryRun`) deletes those nothing needs any more (see
 * {@link prunableVersions}). `pinned` counts pins by version number across
 * the table: with several handler functions, a number in use by any of them
 * keeps that version of each (safe, if not minimal).
 *
 * Run it after the alias moved (a deploy) and the pin counts were read: an
 * invocation that starts meanwhile runs the alias's version, which is never
 * deleted.
 *
 * @example
 * ```ts
 * const report = await pruneVersions({ functionName: 'shop-orders', lambda, pinned, dryRun: false });
 * ```
 */
export async function pruneVersions(o: {
  functionName: string;
  lambda: FunctionVersions;
  pinned: ReadonlyMap<string, number>;
  dryRun: boolean;
}): Promise<PruneReport> {
  const [published, aliasVersion] = await Promise.all([
    o.lambda.published(o.functionName),
    o.lambda.aliasVersion(o.functionName, LIVE_ALIAS),
  ]);
  const prunable = new Set(prunableVersions({ published, aliasVersion, pinned: o.pinned }));
  const deleted: string[] = [];
  if (!o.dryRun) {
    for (const version of prunable) {
      await o.lambda.remove(o.functionName, version);
      deleted.push(version);
    }
  }
  return {
    aliasVersion,
    versions: published
      .filter((v) => v !== '$LATEST')
      .sort((a, b) => Number(a) - Number(b))
      .map((version) => ({ version, invocations: o.pinned.get(version) ?? 0, prunable: prunable.has(version) })),
    deleted,
  };
}
