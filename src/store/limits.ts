/**
 * Size limits. A DynamoDB item holds at most 400 KB; an invocation's `meta`
 * item carries its input and, once done, its output, so each payload is held
 * to a quarter of that. Larger payloads are refused with an error that names
 * the limit, before anything is written, so nothing is lost later.
 */

/** Largest serialized payload (input, output, step result, completion value), in bytes. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/**
 * The size of a payload in bytes, as stored.
 *
 * @example
 * ```ts
 * payloadBytes('"é"') // 4
 * ```
 */
export function payloadBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
