/**
 * Invocation ids and awakeable ids.
 *
 * An invocation id is `inv_` and 16 random bytes (base64url), or 16 bytes
 * derived from what identifies it (`derivedInvocationId`): a workflow's
 * `run` from (workflow, key), so its durable promises can be written before
 * `run` exists; a start with an Idempotency-Key from that key; a callee from
 * (caller, entry), so a replay finds the callee it started.
 *
 * An awakeable id is a capability (DESIGN rule 8): `awk_` and base64url of
 *
 *   version(1) | invocation(16) | entry index(4, big-endian) | nonce(16 random) | tag(16)
 *
 * where tag = HMAC-SHA256(signing key, everything before it), truncated to
 * 128 bits. It says which invocation and entry it completes, carries 128
 * random bits of its own, and a forged or altered id is refused without a
 * table read.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const INVOCATION = /^inv_[A-Za-z0-9_-]{22}$/;
const AWAKEABLE_PREFIX = 'awk_';
const VERSION = 1;
const BODY = 1 + 16 + 4 + 16;
const TAG = 16;

/**
 * A fresh random invocation id.
 *
 * @example
 * ```ts
 * newInvocationId() // "inv_Q2x0…" (26 characters)
 * ```
 */
export function newInvocationId(): string {
  return 'inv_' + randomBytes(16).toString('base64url');
}

/**
 * What a derived invocation id is derived for; the name is hashed with the
 * parts, so two purposes never share an id.
 *
 * - `workflow`: a workflow's `run`, from (workflow, key).
 * - `idempotency`: a start with an Idempotency-Key, from (service, handler, key or '', idempotency key).
 * - `call`: a callee, from (caller invocation id, journal entry index).
 */
export type Derivation = 'workflow' | 'idempotency' | 'call';

/**
 * An invocation id derived from what identifies the invocation: `inv_` and
 * the first 16 bytes (base64url) of SHA-256 over the purpose and the parts,
 * joined by NUL. Every derived id comes from here. They are stored (a
 * workflow's `P#` items, an Idempotency-Key's invocation, a callee id in its
 * caller's journal), so the derivation never changes (DESIGN rule 13;
 * `test/unit/ids.test.ts` pins each one).
 *
 * @example
 * ```ts
 * derivedInvocationId('call', 'inv_AAAAAAAAAAAAAAAAAAAAAA', 0) // the callee of entry 0, on every replay
 * ```
 */
export function derivedInvocationId(purpose: Derivation, ...parts: (string | number)[]): string {
  const digest = createHash('sha256')
    .update([purpose, ...parts].join('\0'))
    .digest();
  return 'inv_' + digest.subarray(0, 16).toString('base64url');
}

/**
 * The invocation id of a workflow's `run` for a key: the same on every call.
 *
 * @example
 * ```ts
 * workflowInvocationId('review', 'doc-7') === workflowInvocationId('review', 'doc-7') // true
 * ```
 */
export function workflowInvocationId(workflow: string, key: string): string {
  return derivedInvocationId('workflow', workflow, key);
}

/**
 * Whether a string has the shape of an invocation id.
 *
 * @example
 * ```ts
 * isInvocationId('inv_AAAAAAAAAAAAAAAAAAAAAA') // true
 * ```
 */
export function isInvocationId(id: string): boolean {
  return INVOCATION.test(id);
}

/** Why an awakeable id was refused. */
export type AwakeableIdProblem = 'malformed' | 'forged';

/**
 * What a valid awakeable id names.
 *
 * @example
 * ```ts
 * const target: AwakeableTarget = { invocationId: 'inv_…', index: 3 };
 * ```
 */
export interface AwakeableTarget {
  invocationId: string;
  /** The journal index of the `awakeable` entry; its completion key is `C#` + that index. */
  index: number;
}

/**
 * Mints and checks awakeable ids with an HMAC key from configuration.
 *
 * @example
 * ```ts
 * const signer = new IdSigner(process.env.DORMANT_SIGNING_KEY!);
 * const id = signer.awakeableId('inv_…', 3);
 * signer.verifyAwakeableId(id) // { ok: true, target: { invocationId: 'inv_…', index: 3 } }
 * ```
 */
export class IdSigner {
  readonly #key: Buffer;

  constructor(key: string | Uint8Array) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (bytes.length < 16) {
      throw new Error('awakeable signing key is too short: it needs at least 16 bytes (set DORMANT_SIGNING_KEY to a long random string)');
    }
    this.#key = bytes;
  }

  /** Mints a new awakeable id for entry `index` of an invocation. */
  awakeableId(invocationId: string, index: number): string {
    if (!isInvocationId(invocationId)) throw new TypeError(`not an invocation id: ${invocationId}`);
    const body = Buffer.alloc(BODY);
    body.writeUInt8(VERSION, 0);
    Buffer.from(invocationId.slice(4), 'base64url').copy(body, 1);
    body.writeUInt32BE(index, 17);
    randomBytes(16).copy(body, 21);
    return AWAKEABLE_PREFIX + Buffer.concat([body, this.#tag(body)]).toString('base64url');
  }

  /** Checks an id's shape and tag; names the invocation and entry it completes. */
  verifyAwakeableId(id: string): { ok: true; target: AwakeableTarget } | { ok: false; problem: AwakeableIdProblem } {
    if (typeof id !== 'string' || !id.startsWith(AWAKEABLE_PREFIX) || !/^[A-Za-z0-9_-]+$/.test(id.slice(4))) {
      return { ok: false, problem: 'malformed' };
    }
    const raw = Buffer.from(id.slice(4), 'base64url');
    // Canonical encoding only: the spare bits of the last character must not
    // give one id several spellings.
    if (raw.length !== BODY + TAG || raw.readUInt8(0) !== VERSION || raw.toString('base64url') !== id.slice(4)) {
      return { ok: false, problem: 'malformed' };
    }
    const body = raw.subarray(0, BODY);
    if (!timingSafeEqual(raw.subarray(BODY), this.#tag(body))) return { ok: false, problem: 'forged' };
    return {
      ok: true,
      target: { invocationId: 'inv_' + body.subarray(1, 17).toString('base64url'), index: body.readUInt32BE(17) },
    };
  }

  #tag(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, TAG);
  }
}
