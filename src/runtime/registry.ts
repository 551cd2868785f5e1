/**
 * The services one deployment hosts, by name, and the catalog the ingress
 * routes by (the ingress Lambda does not load user code, so it gets a
 * serializable summary of the definitions).
 */
import { definitionOf, type AnyDefinition, type Definition, type ServiceKind } from '../api/definitions.ts';
import { json } from '../api/serde.ts';

/**
 * Indexes definitions by name, refusing duplicates.
 *
 * @example
 * ```ts
 * const services = registry([greeter, ledger, reviewFlow]);
 * services.get('greeter')?.handlers.greet?.shared // false
 * ```
 */
export function registry(definitions: readonly AnyDefinition[]): ReadonlyMap<string, Definition> {
  const byName = new Map<string, Definition>();
  for (const given of definitions) {
    let def: Definition;
    try {
      def = definitionOf(given);
    } catch (error) {
      throw new TypeError(`registry() takes definitions made by service(), object() or workflow(): ${(error as Error).message}`);
    }
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
export function catalogOf(definitions: readonly AnyDefinition[] | ReadonlyMap<string, Definition>): Catalog {
  const catalog: Catalog = {};
  for (const def of (Array.isArray(definitions) ? registry(definitions) : (definitions as ReadonlyMap<string, Definition>)).values()) {
    const handlers: CatalogEntry['handlers'] = {};
    for (const [name, spec] of Object.entries(def.handlers)) handlers[name] = { shared: spec.shared, json: spec.input === json };
    catalog[def.name] = { kind: def.kind, handlers };
  }
  return catalog;
}
