/**
 * Loading the user's services from an entry module, for `dormant dev`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Definition } from '../api/definitions.ts';

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
}

/**
 * Whether a value is a service, object or workflow definition.
 *
 * @example
 * ```ts
 * isDefinition(service({ name: 'a', handlers: {} })) // true
 * ```
 */
export function isDefinition(value: unknown): value is Definition {
  const v = value as Partial<Definition> | null;
  return (
    !!v && typeof v === 'object' && typeof v.name === 'string' && ['service', 'object', 'workflow'].includes(String(v.kind)) && !!v.handlers
  );
}

/**
 * Imports an entry module and collects its definitions: the default export
 * and every named export that is a definition or a list of them (one
 * service, or an array), each once.
 *
 * @example
 * ```ts
 * const { services } = await loadEntry('src/services.ts');
 * ```
 */
export async function loadEntry(entry: string): Promise<LoadedEntry> {
  const path = resolve(entry);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
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
  if (found.size === 0) {
    throw new Error(
      `entry ${entry} exports no services: export what service(), object() or workflow() return (as a named or default export, one or an array)`,
    );
  }
  const tryIt = module.tryIt;
  return {
    services: [...found],
    ...(typeof tryIt === 'function'
      ? { tryIt: (url: string) => (tryIt as (u: string) => string[])(url) }
      : Array.isArray(tryIt)
        ? { tryIt: () => tryIt.map(String) }
        : {}),
  };
}
