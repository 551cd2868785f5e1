/**
 * The services one deployment hosts, by name, and the catalog the ingress
 * routes by (the ingress Lambda does not load user code, so it gets a
 * serializable summary of the definitions).
 */
import type { Definition, ServiceKind } from '../api/definitions.ts';
import { json } from '../api/serde.ts';

/**
 * Indexes definitions by name, refusing duplicates.
 *
 * @example
 * ```ts
 * const services = registry([greeter, ledger, reviewFlow]);
 * services.get('greeter')?.handlers.greet
 * ```
 */
export function registry(definitions: readonly Definition[]): ReadonlyMap<string, Definition> {
  const byName = new Map<string, Definition>();
  for (const def of definitions) {
    if (!def || typeof def.name !== 'string' || !def.handlers)
      throw new TypeError('registry() takes definitions made by service(), object() or workflow()');
    if (byName.has(def.name)) throw new TypeError(`two definitions are named '${def.name}'`);
    byName.set(def.name, def);
  }
  return byName;
}

/**
 * What the ingress knows of a service: its kind and its handlers.
 *
 * @example
 * ```ts
 * const entry: CatalogEntry = { kind: 'object', handlers: { add: { shared: false, json: true } } };
 * ```
 */
export interface CatalogEntry {
  kind: ServiceKind;
  /** `json`: the input uses the default JSON serde, so the ingress can validate it. */
  handlers: Record<string, { shared: boolean; json: boolean }>;
}

/** Service name → catalog entry. Serializable (it travels in `DORMANT_SERVICES`). */
export type Catalog = Record<string, CatalogEntry>;

/**
 * Summarizes definitions for the ingress.
 *
 * @example
 * ```ts
 * process.env.DORMANT_SERVICES = JSON.stringify(catalogOf([greeter]));
 * ```
 */
export function catalogOf(definitions: readonly Definition[] | ReadonlyMap<string, Definition>): Catalog {
  const catalog: Catalog = {};
  for (const def of definitions.values()) {
    const handlers: CatalogEntry['handlers'] = {};
    for (const [name, spec] of Object.entries(def.handlers)) handlers[name] = { shared: spec.shared, json: spec.input === json };
    catalog[def.name] = { kind: def.kind, handlers };
  }
  return catalog;
}
