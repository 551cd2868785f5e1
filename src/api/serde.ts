/**
 * How payloads become journal text and back. JSON unless told otherwise; a
 * serde can be passed per call (`ctx.run(name, fn, { serde })`, an
 * awakeable's, a handler's input and output).
 *
 * `undefined` is written as the empty string, so handlers that return nothing
 * round-trip exactly.
 *
 * @example
 * ```ts
 * const dates: Serde<Date> = { serialize: (d) => d.toISOString(), deserialize: (s) => new Date(s) };
 * const when = await ctx.run('schedule', () => pickDate(), { serde: dates });
 * ```
 */
export interface Serde<T> {
  serialize(value: T): string;
  deserialize(text: string): T;
}

/**
 * The default serde: JSON, with `undefined` as the empty string.
 *
 * @example
 * ```ts
 * json.serialize({ ok: true }) // '{"ok":true}'
 * json.deserialize('')          // undefined
 * ```
 */
export const json: Serde<any> = {
  serialize(value: unknown): string {
    if (value === undefined) return '';
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`value of type ${typeof value} cannot be serialized as JSON`);
    return text;
  },
  deserialize(text: string): any {
    return text === '' ? undefined : JSON.parse(text);
  },
};

/**
 * Bytes as text: a `Uint8Array` of UTF-8 is journaled and sent as the text
 * it encodes (Dormant's payloads are text), and read back as its bytes.
 * Bytes that are not UTF-8 are refused. Restate's `serde.binary`, and the
 * default of a Restate-shaped `ctx.genericCall`.
 *
 * @example
 * ```ts
 * bytes.serialize(new TextEncoder().encode('{"n":1}')) // '{"n":1}'
 * ```
 */
export const bytes: Serde<Uint8Array> = {
  serialize(value: Uint8Array): string {
    if (!(value instanceof Uint8Array)) throw new TypeError(`expected a Uint8Array, got ${typeof value}`);
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  },
  deserialize(text: string): Uint8Array {
    return new TextEncoder().encode(text);
  },
};

/**
 * A schema in the Standard Schema form (`~standard.validate`), as zod,
 * valibot, arktype and others provide.
 *
 * @example
 * ```ts
 * const Order = z.object({ id: z.string() }); // a StandardSchema<unknown, { id: string }>
 * ```
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) =>
      | { readonly value: Output; readonly issues?: undefined }
      | { readonly issues: readonly { readonly message: string; readonly path?: readonly unknown[] }[] }
      | Promise<unknown>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The output type of a {@link StandardSchema}. */
export type SchemaOutput<S> = S extends StandardSchema<any, infer O> ? O : never;

/**
 * JSON checked against a schema when read: a handler's input that does not
 * match fails the invocation with a 400 naming the problem.
 *
 * @example
 * ```ts
 * greet: handlers.handler({ input: serde.schema(Greeting) }, async (ctx: Context, { name }) => `hi ${name}`),
 * ```
 */
export function schemaSerde<S extends StandardSchema>(schema: S): Serde<SchemaOutput<S>> {
  if (!schema || typeof schema['~standard']?.validate !== 'function')
    throw new TypeError('serde.schema() takes a Standard Schema (zod, valibot, arktype, …): an object with ~standard.validate');
  return {
    serialize: (value) => json.serialize(value),
    deserialize: (text) => {
      const result = schema['~standard'].validate(json.deserialize(text));
      if (result instanceof Promise)
        throw new TypeError('serde.schema(): the schema validates asynchronously; a serde must decide at once');
      const checked = result as { value?: unknown; issues?: readonly { message: string; path?: readonly unknown[] }[] };
      if (checked.issues) {
        const where = (path?: readonly unknown[]) =>
          path?.length ? `${path.map((p) => String((p as { key?: unknown })?.key ?? p)).join('.')}: ` : '';
        throw new TypeError(`does not match the schema: ${checked.issues.map((i) => `${where(i.path)}${i.message}`).join('; ')}`);
      }
      return checked.value as SchemaOutput<S>;
    },
  };
}

/**
 * Nothing: a handler that takes or returns no value.
 *
 * @example
 * ```ts
 * empty.serialize(undefined) // ''
 * ```
 */
export const empty: Serde<void> = {
  serialize: () => '',
  deserialize: (text) => {
    if (text !== '') throw new TypeError(`expected no value, got ${text.length} characters`);
  },
};

/**
 * Restate's `serde` namespace, over text: `json` (the default), `binary`
 * (UTF-8 bytes), `empty`, and `schema(standardSchema)`.
 *
 * @example
 * ```ts
 * await ctx.run('quote', () => fetchQuote(), { serde: serde.json });
 * ```
 */
export const serde = { json, binary: bytes, empty, schema: schemaSerde };
