/**
 * Loading the user's services from an entry module, for `dormant dev`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDefinition, type Definition } from '../api/definitions.ts';
import { collectingServe } from '../endpoint.ts';

/**
 * What an entry module gives the local plane.
 *
 * @example
 * ```ts
 * const { services, tryIt } = await loadEntry('examples/index.ts');
 * ```
 */
export interface LoadedEntry {
  services: Definition[];
  /** Lines to print after start, if the module exports `tryIt(url)` (or a list of lines). */
  tryIt?: (url: string) => string[];
  /** Tells the module's `serve()` calls, if it made any, on which port the plane serves them. */
  served?: (port: number) => void;
  /** The provider endpoints the module declares (`export const webhooks = { github: { verify, correlate } }`), unchecked. */
  webhooks?: unknown;
}

export { isDefinition };

/**
 * Imports an entry module and collects its definitions (with `fresh`, the
 * module and what it imports are loaded anew, as a redeploy of changed code:
 * `dormant dev --watch`): the default export,
 * every named export that is a definition or a list of them (one service,
 * or an array), and what its `serve()` calls name, each once.
 *
 * @example
 * ```ts
 * const { services } = await loadEntry('src/services.ts');
 * ```
 */
export async function loadEntry(entry: string, options: { fresh?: boolean } = {}): Promise<LoadedEntry> {
  const path = resolve(entry);
  let module: Record<string, unknown>;
  // A Restate-style module serves its definitions itself (serve(), endpoint().listen()): take what it names.
  const served: Definition[] = [];
  const waiting: ((port: number) => void)[] = [];
  const collect = (services: readonly Definition[]) => {
    served.push(...services);
    return new Promise<number>((resolvePort) => waiting.push(resolvePort));
  };
  try {
    module = await collectingServe(collect, async () =>
      options.fresh ? importFresh(path) : ((await import(pathToFileURL(path).href)) as Record<string, unknown>),
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(path)) {
      throw new Error(`entry ${entry} not found (looked at ${path})`, { cause: error });
    }
    throw error;
  }
  const found = new Set<Definition>();
  const names = new Set<string>();
  const take = (value: unknown) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!isDefinition(item) || found.has(item)) continue;
      if (names.has(item.name)) throw new Error(`entry ${entry} exports two different definitions named '${item.name}'`);
      found.add(item);
      names.add(item.name);
    }
  };
  take(module.default);
  for (const [name, value] of Object.entries(module)) if (name !== 'default') take(value);
  take(served);
  if (found.size === 0) {
    throw new Error(
      `entry ${entry} exports no services: export what service(), object() or workflow() return (as a named or default export, one or an array), or serve them with serve({ services })`,
    );
  }
  const tryIt = module.tryIt;
  return {
    ...(module.webhooks === undefined ? {} : { webhooks: module.webhooks }),
    services: [...found],
    ...(waiting.length > 0 ? { served: (port: number) => waiting.forEach((tell) => tell(port)) } : {}),
    ...(typeof tryIt === 'function'
      ? { tryIt: (url: string) => (tryIt as (u: string) => string[])(url) }
      : Array.isArray(tryIt)
        ? { tryIt: () => tryIt.map(String) }
        : {}),
  };
}

/** Imports a module and its own imports afresh (tsx loads each call in a namespace of its own), bypassing the module cache. */
async function importFresh(path: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, { parentURL: import.meta.url })) as Record<string, unknown>;
}
