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
