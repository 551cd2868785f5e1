import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { object, service, workflow, type Context } from 'dormant-lambda';
import { IdSigner, isInvocationId, newInvocationId, workflowInvocationId } from 'dormant-lambda/internal';
import { MemoryRuntime, TEST_SIGNING_KEY } from 'dormant-lambda/testing';

const signer = new IdSigner('a-signing-key-of-at-least-16-bytes');

describe('IdSigner', () => {
  it('mints webhook ids that are capabilities too, and no awakeable id is a webhook id or the other way round', () => {
    const inv = newInvocationId();
    const hook = signer.webhookId(inv, 5);
    expect(hook).toMatch(/^whk_[A-Za-z0-9_-]{82}$/);
    expect(signer.verifyWebhookId(hook)).toEqual({ ok: true, target: { invocationId: inv, index: 5 } });
    expect(signer.verifyAwakeableId(hook)).toEqual({ ok: false, problem: 'malformed' });
    // The version byte is authenticated: the same bytes under the other prefix are no id at all.
    expect(signer.verifyAwakeableId('awk_' + hook.slice(4)).ok).toBe(false);
    const awk = signer.awakeableId(inv, 5);
    expect(signer.verifyWebhookId(awk)).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyWebhookId('whk_' + awk.slice(4)).ok).toBe(false);
    expect(new IdSigner('another-signing-key-of-16-bytes').verifyWebhookId(hook).ok).toBe(false);
    const altered = hook.slice(0, 40) + (hook[40] === 'A' ? 'B' : 'A') + hook.slice(41);
    expect(signer.verifyWebhookId(altered).ok).toBe(false);
  });

  it('round-trips the invocation and entry an awakeable id names (rule 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (index) => {
        const inv = newInvocationId();
        const id = signer.awakeableId(inv, index);
        expect(signer.verifyAwakeableId(id)).toEqual({ ok: true, target: { invocationId: inv, index } });
      }),
    );
  });

  it('mints ids with 160 random bits of their own: two ids for the same entry differ', () => {
    const inv = newInvocationId();
    expect(signer.awakeableId(inv, 1)).not.toBe(signer.awakeableId(inv, 1));
  });

  it('reveals nothing to its holder (rule 10): no invocation or entry bytes, version 2 with a key id', () => {
    // A workflow run's id is derived, so a holder could guess it: it must not be in the id in any form.
    const inv = workflowInvocationId('review', 'doc-7');
    const invocationBytes = Buffer.from(inv.slice(4), 'base64url');
    for (let i = 0; i < 200; i++) {
      const id = signer.awakeableId(inv, 3);
      expect(id).toMatch(/^awk_[A-Za-z0-9_-]{82}$/);
      const raw = Buffer.from(id.slice(4), 'base64url');
      expect(raw[0]).toBe(2);
      expect(raw.subarray(1, 5).toString('hex')).toBe(signer.keyIds[0]);
      for (let at = 0; at + 4 <= 16; at++) expect(raw.includes(invocationBytes.subarray(at, at + 4))).toBe(false);
      expect(id).not.toContain(inv.slice(4, 12));
    }
  });

  it('refuses any altered character as forged or malformed (rule 8)', () => {
    const id = signer.awakeableId(newInvocationId(), 7);
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: id.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
        (pos, ch) => {
          fc.pre(id[pos] !== ch);
          const altered = id.slice(0, pos) + ch + id.slice(pos + 1);
          expect(signer.verifyAwakeableId(altered).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses truncated, padded, foreign-key and non-id strings', () => {
    const id = signer.awakeableId(newInvocationId(), 3);
    expect(signer.verifyAwakeableId(id.slice(0, -1))).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId(id + 'A')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('sign_1abc')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_!!!')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_' + 'A'.repeat(5_000))).toEqual({ ok: false, problem: 'malformed' });
    // Another deployment's id: a key id this one does not know.
    expect(new IdSigner('another-key-entirely-0123').verifyAwakeableId(id)).toEqual({ ok: false, problem: 'unknown_key' });
    // The right key id with a made-up ciphertext: forged.
    const raw = Buffer.from(id.slice(4), 'base64url');
    raw.fill(7, 5);
    expect(signer.verifyAwakeableId('awk_' + raw.toString('base64url'))).toEqual({ ok: false, problem: 'forged' });
  });

  it('refuses short signing keys with a message naming the fix', () => {
    expect(() => new IdSigner('short')).toThrow(/at least 16 bytes.*DORMANT_SIGNING_KEY/);
  });
});

/**
 * Awakeable ids minted by the release before version 2 (HMAC-tagged,
 * version 1) stay valid: an invocation suspended on one across a deploy
 * must not be stranded (DESIGN rule 13). These ids were minted by that
 * release's `IdSigner` and are pinned here as it wrote them.
 */
describe('version 1 ids, minted by the earlier release, still verify (rule 13)', () => {
  const V1 = {
    key: 'test-signing-key-0123456789abcdef',
    id: 'awk_ASlc4bcFSdzN3c7sqQUJotsAAAADpNVIhvo2zj3gEl1rPNygmx06ytjfXsAQ_AKYCxCQh3Y',
    target: { invocationId: 'inv_KVzhtwVJ3M3dzuypBQmi2w', index: 3 },
  };

  it('verifies under the secret that tagged it, current or previous, and names the same entry', () => {
    expect(new IdSigner(V1.key).verifyAwakeableId(V1.id)).toEqual({ ok: true, target: V1.target });
    expect(new IdSigner({ current: 'a-rotated-in-new-secret-000000', previous: [V1.key] }).verifyAwakeableId(V1.id)).toEqual({
      ok: true,
      target: V1.target,
    });
  });

  it('is refused as forged under another secret, and when altered', () => {
    expect(new IdSigner('a-rotated-in-new-secret-000000').verifyAwakeableId(V1.id)).toEqual({ ok: false, problem: 'forged' });
    const altered = V1.id.slice(0, 10) + (V1.id[10] === 'A' ? 'B' : 'A') + V1.id.slice(11);
    expect(new IdSigner(V1.key).verifyAwakeableId(altered).ok).toBe(false);
  });

  it('completes the awakeable it names, through the ingress, like a new id', async () => {
    // Prepare: an invocation suspended on entry 0, and a version 1 id for it (the format pinned above)
    const rt = new MemoryRuntime([service({ name: 'wait', handlers: { on: async (ctx: Context) => ctx.awakeable<string>().promise } })]);
    const id = await rt.start('wait', 'on');
    await rt.settle();
    const v1 = mintV1(TEST_SIGNING_KEY, id, 0);
    expect(mintV1(V1.key, V1.target.invocationId, V1.target.index, Buffer.from(V1.id.slice(4), 'base64url').subarray(21, 37))).toBe(V1.id);

    // Act
    await expect(rt.resolve(v1, '"from a v1 id"')).resolves.toBe('completed');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toBe('from a v1 id');
  });
});

describe('signing secrets rotate without breaking outstanding ids', () => {
  const OLD = 'the-secret-before-rotation-00000';
  const NEW = 'the-secret-after-rotation-111111';

  it('mints under the current secret and accepts ids of the previous one; a secret dropped after two rotations is refused', () => {
    const before = new IdSigner(OLD);
    const outstanding = before.awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 1);
    const rotated = new IdSigner({ current: NEW, previous: [OLD] });

    expect(rotated.verifyAwakeableId(outstanding)).toEqual({ ok: true, target: { invocationId: 'inv_AAAAAAAAAAAAAAAAAAAAAA', index: 1 } });
    const minted = rotated.awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 2);
    expect(Buffer.from(minted.slice(4), 'base64url').subarray(1, 5).toString('hex')).toBe(new IdSigner(NEW).keyIds[0]);
    expect(before.verifyAwakeableId(minted)).toEqual({ ok: false, problem: 'unknown_key' });
    expect(new IdSigner({ current: 'a-third-secret-22222222222222', previous: [NEW] }).verifyAwakeableId(outstanding)).toEqual({
      ok: false,
      problem: 'unknown_key',
    });
  });

  it('on an unknown key id, reads the secrets again before refusing, at most once per interval', async () => {
    // Prepare: a function that has not seen the rotation another one already mints under
    let now = 0;
    let reads = 0;
    let secrets = { current: NEW, previous: [OLD] };
    const stale = new IdSigner(OLD, { refresh: async () => (reads++, secrets), refreshEveryMs: 60_000, now: () => now });
    const fresh = new IdSigner({ current: NEW, previous: [OLD] }).awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 4);
    const madeUp = Buffer.from(fresh.slice(4), 'base64url');
    madeUp.writeUInt32BE(0xdeadbeef, 1);

    // Act + Assess: the first unknown key id refreshes, and the id verifies
    await expect(stale.verify(fresh)).resolves.toMatchObject({ ok: true, target: { index: 4 } });
    expect(reads).toBe(1);
    // Made-up key ids (an attacker's) cost no read within the interval, and are forged.
    for (let i = 0; i < 50; i++)
      await expect(stale.verify('awk_' + madeUp.toString('base64url'))).resolves.toEqual({ ok: false, problem: 'forged' });
    expect(reads).toBe(1);
    now += 60_000;
    secrets = { current: 'yet-another-secret-3333333333', previous: [NEW] };
    await expect(stale.verify('awk_' + madeUp.toString('base64url'))).resolves.toEqual({ ok: false, problem: 'forged' });
    expect(reads).toBe(2);
  });

  it('keeps its secrets when a refresh fails', async () => {
    const signer = new IdSigner(OLD, { refresh: async () => Promise.reject(new Error('throttled')) });
    const id = signer.awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 0);
    await expect(signer.verify(new IdSigner(NEW).awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 0))).resolves.toEqual({
      ok: false,
      problem: 'forged',
    });
    expect(signer.verifyAwakeableId(id).ok).toBe(true);
  });
});

/** Version 1 as the earlier release minted it: HMAC-SHA256 over version | invocation | index | nonce, truncated to 16 bytes. */
function mintV1(key: string, invocationId: string, index: number, nonce: Buffer = randomBytes(16)): string {
  const body = Buffer.alloc(37);
  body.writeUInt8(1, 0);
  Buffer.from(invocationId.slice(4), 'base64url').copy(body, 1);
  body.writeUInt32BE(index, 17);
  nonce.copy(body, 21);
  const tag = createHmac('sha256', key).update(body).digest().subarray(0, 16);
  return 'awk_' + Buffer.concat([body, tag]).toString('base64url');
}

describe('invocation ids', () => {
  it('are random, well-formed, and derived for workflow runs', () => {
    const a = newInvocationId();
    expect(isInvocationId(a)).toBe(true);
    expect(a).not.toBe(newInvocationId());
    expect(workflowInvocationId('wf', 'k')).toBe(workflowInvocationId('wf', 'k'));
    expect(workflowInvocationId('wf', 'k')).not.toBe(workflowInvocationId('wf', 'k2'));
    expect(isInvocationId('inv_short')).toBe(false);
  });
});

/**
 * Derived invocation ids are stored (a workflow's `run`, an Idempotency-Key's
 * invocation, a callee's id in its caller's journal): a release that derived
 * them differently would start a second run, or orphan a caller's result
 * (DESIGN rule 13). Each derivation is pinned to the value the first release
 * computed, through the paths that use it.
 */
describe('derived invocation ids stay the same across releases (rule 13)', () => {
  const echo = service({ name: 'echo', handlers: { echo: async (_ctx: Context, n: number) => n } });
  const review = workflow({ name: 'review', handlers: { run: async () => 'reviewed' } });
  const cart = object({ name: 'cart', handlers: { add: async () => 'added' } });
  const caller = service({
    name: 'caller',
    handlers: {
      fanOut: async (ctx: Context) => {
        ctx.serviceSendClient(echo).echo(1);
        const two = ctx.serviceClient(echo).echo(2);
        ctx.workflowSendClient(review, 'doc-7').run();
        return two;
      },
    },
  });

  it("of a workflow's run, from (workflow, key)", async () => {
    const rt = new MemoryRuntime([review]);
    expect(workflowInvocationId('review', 'doc-7')).toBe('inv_KVzhtwVJ3M3dzuypBQmi2w');
    expect(workflowInvocationId('signup', 'ada@example.com')).toBe('inv_PUcqfUW9TVDFsD1QzLQXsQ');
    expect(await rt.start('review', 'run', '', 'doc-7')).toBe('inv_KVzhtwVJ3M3dzuypBQmi2w');
  });

  it('of a start with an Idempotency-Key, from (service, handler, key, idempotency key)', async () => {
    const rt = new MemoryRuntime([caller, echo, review, cart]);
    expect(await rt.start('caller', 'fanOut', '', undefined, 'order-42')).toBe('inv_Cx2fDfks2vwdjRK-GgpfXQ');
    expect(await rt.start('cart', 'add', '', 'ada', 'k-1')).toBe('inv_x3bXnUoZ5YlVS7h1nucAsQ');
  });

  it("of a callee, from (caller, entry); a workflow's run keeps its own", async () => {
    // Prepare: a caller whose own id is pinned above
    const rt = new MemoryRuntime([caller, echo, review]);
    const id = await rt.start('caller', 'fanOut', '', undefined, 'order-42');

    // Act
    await rt.settle();

    // Assess: the callee ids its journal holds
    expect(await rt.output(id)).toBe(2);
    expect((await rt.journal(id)).map((e) => [e.kind, e.value])).toEqual([
      ['send', 'inv_eXYrJiBPBgi0agEvRfaGRA'],
      ['call', 'inv_9nbARM1jMAN7qxBta-J8Hw'],
      ['send', 'inv_KVzhtwVJ3M3dzuypBQmi2w'],
    ]);
    expect(await rt.output('inv_KVzhtwVJ3M3dzuypBQmi2w')).toBe('reviewed');
  });
});
