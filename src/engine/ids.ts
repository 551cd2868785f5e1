/**
 * Invocation ids and awakeable ids.
 *
 * An invocation id is `inv_` and 16 random bytes (base64url), or 16 bytes
 * derived from what identifies it (`derivedInvocationId`): a workflow's
 * `run` from (workflow, key), so its durable promises can be written before
 * `run` exists; a start with an Idempotency-Key from that key; a callee from
 * (caller, entry), so a replay finds the callee it started.
 *
 * An awakeable id is a capability (DESIGN rules 8 and 10): it lets its
 * holder complete or heartbeat one awakeable, and reveals nothing else.
 * Version 2, minted since release 0.2, is `awk_` and base64url of
 *
 *   version(1) = 2 | key id(4) | nonce(12 random) | ciphertext(28) | tag(16)
 *
 * where the ciphertext is AES-256-GCM of invocation(16) | entry index(4,
 * big-endian) | 8 random bytes, under a key derived (HKDF-SHA256) from the
 * signing secret, with the version and key id as associated data. The holder
 * learns neither invocation nor entry (160 random bits, and nothing to
 * decode); a forged or altered id fails GCM's tag and is refused without a
 * table read. The key id names the secret it was minted under, so a
 * deployment accepts its current and previous secrets while it rotates them.
 * GCM with a random nonce is safe here: an id is minted once per awakeable
 * and journaled, so nonces never repeat in practice (2^-32 collision odds
 * after 2^32 ids under one key).
 *
 * Version 1, minted by earlier releases and still accepted (DESIGN rule 13),
 * is `awk_` and base64url of
 *
 *   version(1) = 1 | invocation(16) | entry index(4) | nonce(16 random) | tag(16)
 *
 * with tag = HMAC-SHA256(signing secret, everything before it), truncated.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const INVOCATION = /^inv_[A-Za-z0-9_-]{22}$/;
const AWAKEABLE_PREFIX = 'awk_';
const WEBHOOK_PREFIX = 'whk_';
/** Version 1: HMAC-tagged, invocation and entry in plain bytes. Verified, never minted. */
const V1 = 1;
const V1_BODY = 1 + 16 + 4 + 16;
const V1_TAG = 16;
/** Version 2: AES-256-GCM, with a key id. */
const V2 = 2;
/** A webhook id: version 2's layout under a version byte of its own (authenticated), so no awakeable route accepts it. */
const V3_WEBHOOK = 3;
const KEY_ID = 4;
const NONCE = 12;
const PLAIN = 16 + 4 + 8;
const GCM_TAG = 16;
const V2_HEADER = 1 + KEY_ID;
const V2_LENGTH = V2_HEADER + NONCE + PLAIN + GCM_TAG;
const HKDF_SALT = 'dormant awakeable ids';

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
 * - `restart`: the restart of a failed invocation, from (its id).
 */
export type Derivation = 'workflow' | 'idempotency' | 'call' | 'restart';

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

/** How much of an awakeable id a message keeps: the prefix and 6 characters, never enough to use it. */
const SHOWN_ID_CHARS = 10;

/**
 * An awakeable id as logs and messages may print it: its first characters
 * and an ellipsis. A whole id is a capability (DESIGN rule 10); logs are
 * read by more people than hold it.
 *
 * @example
 * ```ts
 * shortId('awk_AgAAAAEx…(86 characters)') // 'awk_AgAAAA…'
 * ```
 */
export function shortId(id: string): string {
  return id.length <= SHOWN_ID_CHARS ? id : `${id.slice(0, SHOWN_ID_CHARS)}…`;
}

/** Why an awakeable id was refused: not an id at all, or not issued (or altered) under a key this deployment knows. */
export type AwakeableIdProblem = 'malformed' | 'forged' | 'unknown_key';

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
 * The signing secrets a deployment knows: the one it mints under, and the
 * ones it still accepts (Secrets Manager's `AWSCURRENT` and `AWSPREVIOUS`).
 *
 * @example
 * ```ts
 * const keys: SigningKeys = { current: 'the-new-secret…', previous: ['the-old-secret…'] };
 * ```
 */
export interface SigningKeys {
  current: string | Uint8Array;
  previous?: readonly (string | Uint8Array)[];
}

/**
 * Options of {@link IdSigner}.
 *
 * @example
 * ```ts
 * const options: IdSignerOptions = { refresh: () => readSigningKeys(source), refreshEveryMs: 60_000 };
 * ```
 */
export interface IdSignerOptions {
  /**
   * Reads the secrets again. Called when an id names a key id this signer
   * does not know (another function may have seen a rotation first), at most
   * once per `refreshEveryMs`, so ids with made-up key ids cost at most that.
   */
  refresh?: () => Promise<SigningKeys>;
  /** Least time between two refreshes. Default 60 000 ms. */
  refreshEveryMs?: number;
  /** Where time comes from. Default `Date.now`. */
  now?: () => number;
}

/** One signing secret and what is derived from it. */
interface Secret {
  /** The secret itself: the HMAC key of version 1 ids. */
  raw: Buffer;
  /** Version 2: the key id (4 bytes) and the AES-256 key. */
  keyId: Buffer;
  aes: Buffer;
}

function secretOf(key: string | Uint8Array): Secret {
  const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (raw.length < 16) {
    throw new Error('awakeable signing key is too short: it needs at least 16 bytes (set DORMANT_SIGNING_KEY to a long random string)');
  }
  const derive = (info: string, length: number) => Buffer.from(hkdfSync('sha256', raw, HKDF_SALT, info, length));
  return { raw, keyId: derive('key id v2', KEY_ID), aes: derive('aes-256-gcm v2', 32) };
}

/**
 * Mints and checks awakeable ids under the deployment's signing secrets.
 * New ids are version 2 (encrypted) under the current secret; ids of both
 * versions verify under the current or any previous secret.
 *
 * @example
 * ```ts
 * const signer = new IdSigner(process.env.DORMANT_SIGNING_KEY!);
 * const id = signer.awakeableId('inv_…', 3);
 * signer.verifyAwakeableId(id) // { ok: true, target: { invocationId: 'inv_…', index: 3 } }
 * ```
 */
export class IdSigner {
  #current: Secret;
  #known: Secret[];
  readonly #refresh: IdSignerOptions['refresh'];
  readonly #refreshEveryMs: number;
  readonly #now: () => number;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | undefined;

  constructor(keys: string | Uint8Array | SigningKeys, options: IdSignerOptions = {}) {
    this.#refresh = options.refresh;
    this.#refreshEveryMs = options.refreshEveryMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    [this.#current, this.#known] = IdSigner.#load(keys);
  }

  static #load(keys: string | Uint8Array | SigningKeys): [Secret, Secret[]] {
    const given = typeof keys === 'string' || keys instanceof Uint8Array ? { current: keys } : keys;
    const current = secretOf(given.current);
    return [current, [current, ...(given.previous ?? []).map(secretOf)]];
  }

  /** Key ids (hex) of the secrets this signer accepts, the current first: what a log may show of them. */
  get keyIds(): string[] {
    return this.#known.map((s) => s.keyId.toString('hex'));
  }

  /** Mints a new awakeable id for entry `index` of an invocation (version 2, current secret). */
  awakeableId(invocationId: string, index: number): string {
    return this.#mint(AWAKEABLE_PREFIX, V2, invocationId, index);
  }

  /**
   * Mints a webhook id for entry `index` (`ctx.webhook`): sealed like a
   * version 2 awakeable id, under version byte 3 and the prefix `whk_`. The
   * version byte is authenticated, so a webhook id is no awakeable id (the
   * awakeable routes, which skip the webhook's signature check, refuse it)
   * and the other way round.
   *
   * @example
   * ```ts
   * signer.webhookId('inv_…', 4) // 'whk_A…'
   * ```
   */
  webhookId(invocationId: string, index: number): string {
    return this.#mint(WEBHOOK_PREFIX, V3_WEBHOOK, invocationId, index);
  }

  /**
   * Checks a webhook id as {@link verifyAwakeableId} checks an awakeable id.
   *
   * @example
   * ```ts
   * signer.verifyWebhookId(signer.webhookId(inv, 4)) // { ok: true, target: { invocationId: inv, index: 4 } }
   * ```
   */
  verifyWebhookId(id: string): { ok: true; target: AwakeableTarget } | { ok: false; problem: AwakeableIdProblem } {
    if (typeof id !== 'string' || !id.startsWith(WEBHOOK_PREFIX) || !/^[A-Za-z0-9_-]+$/.test(id.slice(4)) || id.length > 200) {
      return { ok: false, problem: 'malformed' };
    }
    const raw = Buffer.from(id.slice(4), 'base64url');
    if (raw.toString('base64url') !== id.slice(4)) return { ok: false, problem: 'malformed' };
    if (raw.length === V2_LENGTH && raw.readUInt8(0) === V3_WEBHOOK) return this.#openV2(raw);
    return { ok: false, problem: 'malformed' };
  }

  /**
   * {@link verifyWebhookId}, refreshing the secrets once on an unknown key id, as {@link verify}.
   *
   * @example
   * ```ts
   * const v = await signer.verifyWebhook(id);
   * ```
   */
  async verifyWebhook(id: string): Promise<{ ok: true; target: AwakeableTarget } | { ok: false; problem: 'malformed' | 'forged' }> {
    const first = this.verifyWebhookId(id);
    if (first.ok || first.problem !== 'unknown_key') return first as { ok: false; problem: 'malformed' | 'forged' };
    await this.refresh();
    const second = this.verifyWebhookId(id);
    return second.ok || second.problem !== 'unknown_key'
      ? (second as { ok: false; problem: 'malformed' | 'forged' })
      : { ok: false, problem: 'forged' };
  }

  #mint(prefix: string, version: number, invocationId: string, index: number): string {
    if (!isInvocationId(invocationId)) throw new TypeError(`not an invocation id: ${invocationId}`);
    const header = Buffer.alloc(V2_HEADER);
    header.writeUInt8(version, 0);
    this.#current.keyId.copy(header, 1);
    const plain = Buffer.alloc(PLAIN);
    Buffer.from(invocationId.slice(4), 'base64url').copy(plain, 0);
    plain.writeUInt32BE(index, 16);
    randomBytes(8).copy(plain, 20);
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.#current.aes, nonce, { authTagLength: GCM_TAG });
    cipher.setAAD(header);
    const sealed = Buffer.concat([header, nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return prefix + sealed.toString('base64url');
  }

  /**
   * Checks an id's shape and authenticity, without I/O; names the invocation
   * and entry it completes. `unknown_key`: a well-formed version 2 id under a
   * key id this signer does not know (see {@link verify}, which refreshes).
   */
  verifyAwakeableId(id: string): { ok: true; target: AwakeableTarget } | { ok: false; problem: AwakeableIdProblem } {
    if (typeof id !== 'string' || !id.startsWith(AWAKEABLE_PREFIX) || !/^[A-Za-z0-9_-]+$/.test(id.slice(4)) || id.length > 200) {
      return { ok: false, problem: 'malformed' };
    }
    const raw = Buffer.from(id.slice(4), 'base64url');
    // Canonical encoding only: the spare bits of the last character must not
    // give one id several spellings.
    if (raw.toString('base64url') !== id.slice(4)) return { ok: false, problem: 'malformed' };
    if (raw.length === V2_LENGTH && raw.readUInt8(0) === V2) return this.#openV2(raw);
    if (raw.length === V1_BODY + V1_TAG && raw.readUInt8(0) === V1) return this.#checkV1(raw);
    return { ok: false, problem: 'malformed' };
  }

  /**
   * {@link verifyAwakeableId}, and on an unknown key id, reads the secrets
   * again (at most once per `refreshEveryMs`) before refusing: a function
   * that has not seen a rotation yet still accepts ids minted under the new
   * secret. An id still unknown after that is `forged`.
   *
   * @example
   * ```ts
   * const v = await signer.verify(id);
   * if (!v.ok) throw new IngressError(v.problem === 'malformed' ? 400 : 403, …);
   * ```
   */
  async verify(id: string): Promise<{ ok: true; target: AwakeableTarget } | { ok: false; problem: 'malformed' | 'forged' }> {
    const first = this.verifyAwakeableId(id);
    if (first.ok || first.problem !== 'unknown_key') return first as { ok: false; problem: 'malformed' | 'forged' };
    await this.refresh();
    const second = this.verifyAwakeableId(id);
    return second.ok || second.problem !== 'unknown_key'
      ? (second as { ok: false; problem: 'malformed' | 'forged' })
      : { ok: false, problem: 'forged' };
  }

  /**
   * Reads the secrets again through `refresh`, unless that happened less
   * than `refreshEveryMs` ago (then it waits for nothing). A failed read
   * keeps the secrets as they were.
   */
  async refresh(): Promise<void> {
    if (!this.#refresh) return;
    if (this.#refreshing) return this.#refreshing;
    if (this.#now() - this.#refreshedAt < this.#refreshEveryMs) return;
    this.#refreshedAt = this.#now();
    this.#refreshing = this.#refresh()
      .then((keys) => {
        [this.#current, this.#known] = IdSigner.#load(keys);
      })
      .catch(() => undefined)
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  #openV2(raw: Buffer): { ok: true; target: AwakeableTarget } | { ok: false; problem: AwakeableIdProblem } {
    const keyId = raw.subarray(1, V2_HEADER);
    const secret = this.#known.find((s) => s.keyId.equals(keyId));
    if (!secret) return { ok: false, problem: 'unknown_key' };
    const nonce = raw.subarray(V2_HEADER, V2_HEADER + NONCE);
    const sealed = raw.subarray(V2_HEADER + NONCE, V2_LENGTH - GCM_TAG);
    const decipher = createDecipheriv('aes-256-gcm', secret.aes, nonce, { authTagLength: GCM_TAG });
    decipher.setAAD(raw.subarray(0, V2_HEADER));
    decipher.setAuthTag(raw.subarray(V2_LENGTH - GCM_TAG));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
    } catch {
      return { ok: false, problem: 'forged' };
    }
    return { ok: true, target: { invocationId: 'inv_' + plain.subarray(0, 16).toString('base64url'), index: plain.readUInt32BE(16) } };
  }

  #checkV1(raw: Buffer): { ok: true; target: AwakeableTarget } | { ok: false; problem: AwakeableIdProblem } {
    const body = raw.subarray(0, V1_BODY);
    const tag = raw.subarray(V1_BODY);
    // No key id in version 1: any secret this deployment knows may have tagged it.
    const valid = this.#known.some((s) => timingSafeEqual(tag, createHmac('sha256', s.raw).update(body).digest().subarray(0, V1_TAG)));
    if (!valid) return { ok: false, problem: 'forged' };
    return { ok: true, target: { invocationId: 'inv_' + body.subarray(1, 17).toString('base64url'), index: body.readUInt32BE(17) } };
  }
}
