/**
 * What must hold once a run is quiescent, read from the raw store:
 *
 * - every invocation reached exactly one outcome (completed or failed);
 * - no suspended invocation has an awaited completion present (lost wake-up);
 * - no actor is left hanging (a handler that neither returned nor suspended);
 * - each awakeable was completed once: at most one resolver was accepted, the
 *   accepted one is what is stored, the others got 409 naming what they lost
 *   to (or 410 once the invocation had finished);
 * - each workflow promise has one winner, told so, and every shared handler
 *   waiting on it gets its outcome;
 * - outputs follow from the completions that won (races are judged by their
 *   winner), and exclusive calls on an object key are linearizable with the
 *   key's final state.
 *
 * Journal immutability and re-run steps are checked while the run goes (see
 * `World`).
 */
import { META, completionKey, promiseKey, stateScope } from '../../src/store/keys.ts';
import type { Violation, World } from './world.ts';
import type { InvocationSpec, ResolverSpec, Settled } from './workload.ts';

/** What the checks saw, for comparing with the fault-free run. */
export interface RunFacts {
  /** Output (JSON text) or `FAILED: message` or the status, by label. */
  outputs: Map<string, string>;
  /** Whether a label's output may depend on a race. */
  racy: Map<string, boolean>;
  /** Final counter per object key, flow stage per workflow key. */
  states: Map<string, string | undefined>;
}

/** What `orTimeout` writes into an awakeable whose timer won. */
const TIMED_OUT: Settled = { ok: false, reason: 'timed out' };
const show = (s: Settled | undefined): string => (s === undefined ? 'nothing' : s.ok ? `resolved '${s.value}'` : `rejected '${s.reason}'`);
const same = (a: Settled | undefined, b: Settled | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);
const asSettled = (spec: Pick<ResolverSpec, 'kind' | 'value'>): Settled =>
  spec.kind === 'resolve' ? { ok: true, value: spec.value } : { ok: false, reason: spec.value };
const okOrRejected = (s: Settled): string => (s.ok ? `ok:${s.value}` : `rejected:${s.reason}`);
const valueOrError = (s: Settled): string => (s.ok ? `v:${s.value}` : `e:${s.reason}`);

/**
 * Checks a quiescent world.
 *
 * @example
 * ```ts
 * const { violations, facts } = await checkWorld(world);
 * ```
 */
export async function checkWorld(world: World): Promise<{ violations: Violation[]; facts: RunFacts }> {
  const violations: Violation[] = [];
  const fail = (kind: string, detail: string) => violations.push({ kind, detail });
  const store = world.store;
  const facts: RunFacts = { outputs: new Map(), racy: new Map(), states: new Map() };

  for (const actor of world.live) fail('actor-hung', `${actor} neither returned nor crashed`);

  const settled = async (tag: string, slot: string): Promise<Settled | undefined> => {
    const id = world.sent.get(`${tag}/${slot}`);
    if (id === undefined) return undefined;
    const hook = id.startsWith('whk_');
    const verified = hook ? world.signer.verifyWebhookId(id) : world.signer.verifyAwakeableId(id);
    if (!verified.ok) return undefined;
    const c = await store.getCompletion(verified.target.invocationId, completionKey(verified.target.index));
    if (!c) return undefined;
    if (c.failure) return { ok: false, reason: c.failure.message };
    const value = JSON.parse(c.value ?? 'null') as unknown;
    // A webhook holds the whole request; its resolvers sent the body.
    return { ok: true, value: (hook ? (value as { body: unknown }).body : value) as string };
  };

  // Outcomes and outputs.
  for (const spec of world.specs) {
    const id = world.ids.get(spec.label);
    if (id === undefined) {
      fail('never-started', `${spec.label}: the ingress never answered its start`);
      continue;
    }
    const meta = await store.getInvocation(id);
    if (!meta) {
      fail('never-started', `${spec.label}: no meta item`);
      continue;
    }
    if (meta.status === 'suspended') {
      const present = await store.existingCompletions(id, meta.awaiting ?? []);
      if (present.length > 0)
        fail(
          'lost-wakeup',
          `${spec.label} is suspended at epoch ${meta.epoch} awaiting ${meta.awaiting?.join(',')} and ${present.join(',')} is there`,
        );
      else fail('stuck-suspended', `${spec.label} is suspended awaiting ${meta.awaiting?.join(',')}, which nothing will complete`);
    } else if (meta.status === 'running' || meta.status === 'pending') {
      fail(
        `stuck-${meta.status}`,
        `${spec.label} is ${meta.status} at epoch ${meta.epoch} (lease ${meta.lease === undefined ? 'none' : `+${meta.lease - world.clock.now()}ms`}) with nothing left to run it`,
      );
    } else {
      const n = world.finishes.get(id) ?? 0;
      if (n !== 1) fail('outcome-count', `${spec.label} reached ${n} outcomes`);
    }
    const output =
      meta.status === 'completed'
        ? (meta.output ?? '')
        : meta.status === 'failed'
          ? `FAILED: ${meta.failure?.message}`
          : `(${meta.status})`;
    facts.outputs.set(spec.label, output);
  }

  const expectOneOf = (spec: InvocationSpec, values: unknown[], why: string) => {
    const output = facts.outputs.get(spec.label);
    if (output === undefined || output.startsWith('(')) return;
    if (!values.map((v) => JSON.stringify(v)).includes(output))
      fail('wrong-output', `${spec.label} returned ${output}, expected ${values.map((v) => JSON.stringify(v)).join(' or ')} (${why})`);
  };
  const plainOutput = (label: string): unknown => {
    const output = facts.outputs.get(label);
    return output === undefined || output.startsWith('(') || output.startsWith('FAILED') ? undefined : (JSON.parse(output) as unknown);
  };
  const uniform = (specs: Pick<ResolverSpec, 'kind' | 'value'>[]) => new Set(specs.map((s) => JSON.stringify(asSettled(s)))).size <= 1;

  const groups = new Map<string, InvocationSpec[]>();
  for (const spec of world.specs) {
    if (spec.group) groups.set(spec.group, [...(groups.get(spec.group) ?? []), spec]);
    const a = await settled(spec.label, 'a');
    switch (spec.template) {
      case 'approval':
      case 'hook':
        facts.racy.set(spec.label, !uniform(spec.slots.a ?? []));
        if (!a) fail('completion-missing', `${spec.label}: no completion stored for its awakeable`);
        else expectOneOf(spec, [okOrRejected(a)], `its awakeable was ${show(a)}`);
        break;
      case 'eventWait': {
        // Any of its events may win (the first to reach its waiter); with one distinct event, that one.
        const values = [...new Set((spec.events ?? []).map((e) => e.value))];
        facts.racy.set(spec.label, values.length > 1);
        expectOneOf(
          spec,
          values.map((v) => `ok:${v}`),
          `its events carried ${values.join(', ')}`,
        );
        break;
      }
      case 'flaky':
        facts.racy.set(spec.label, false);
        expectOneOf(spec, [{ x: 'flaky-ok', pq: ['p', 'q'], y: "step 'doomed' failed after 2 attempt(s): boom" }], 'fixed');
        break;
      case 'sleeper':
        // orTimeout closes the awakeable with a TimeoutError when its timer wins,
        // so the stored completion decides the output either way.
        facts.racy.set(spec.label, (spec.slots.a ?? []).length > 0);
        expectOneOf(spec, [a === undefined || same(a, TIMED_OUT) ? 'timeout' : okOrRejected(a)], `its awakeable was ${show(a)}`);
        break;
      case 'combo': {
        facts.racy.set(spec.label, true);
        const b = await settled(spec.label, 'b');
        if (!a || !b) fail('completion-missing', `${spec.label}: awakeables were ${show(a)} and ${show(b)}`);
        else {
          const all = [valueOrError(a), valueOrError(b)];
          expectOneOf(
            spec,
            [
              { race: all[0], settled: all },
              { race: all[1], settled: all },
            ],
            `awakeables were ${show(a)} and ${show(b)}`,
          );
        }
        break;
      }
      case 'attachTo': {
        // It gets what the invocation it attached to returned.
        facts.racy.set(spec.label, true);
        const target = facts.outputs.get(spec.label.slice(0, -'.attachTo'.length));
        if (target !== undefined && !target.startsWith('(') && !target.startsWith('FAILED'))
          expectOneOf(spec, [JSON.parse(target)], 'the output it attached to');
        break;
      }
      case 'cancelOther':
      case 'relay':
      case 'sendAdd':
        facts.racy.set(spec.label, false);
        expectOneOf(spec, ['sent'], 'fixed');
        break;
      case 'tour':
        facts.racy.set(spec.label, false);
        expectOneOf(spec, [{ keys: ['a', 'b'], b: 2, after: [], clock: 'number' }], 'fixed');
        break;
      case 'cancelled':
        // Its awakeable has no resolvers: only the cancellation ends it.
        facts.racy.set(spec.label, false);
        expectOneOf(spec, ['cancelled'], 'only a cancellation can end it');
        break;
      case 'flowPeek':
      case 'flowWait':
      case 'flowRun':
      case 'flowApprove':
      case 'callApprove':
      case 'attachRun':
      case 'add':
      case 'addHeld':
      case 'addSlow':
      case 'callAdd':
      case 'read':
        break; // judged by group below
    }
  }

  // Workflows: one winner per promise, told so; run returns it; state agrees.
  for (const [group, specs] of groups) {
    const run = specs.find((s) => s.template === 'flowRun');
    if (!run) continue;
    const approvers = specs.filter((s) => s.template === 'flowApprove' || s.template === 'callApprove');
    const racy = !uniform(approvers.map((s) => s.input as ResolverSpec));
    for (const s of specs) facts.racy.set(s.label, racy);
    const runId = world.ids.get(run.label);
    const p = runId === undefined ? undefined : await store.getCompletion(runId, promiseKey('approval'));
    const winner: Settled | undefined =
      p && (p.failure ? { ok: false, reason: p.failure.message } : { ok: true, value: JSON.parse(p.value ?? 'null') as string });
    if (!winner) {
      fail('completion-missing', `${group}: no durable promise stored`);
      continue;
    }
    expectOneOf(run, [okOrRejected(winner)], `the promise was ${show(winner)}`);
    for (const attach of specs.filter((s) => s.template === 'attachRun'))
      expectOneOf(attach, [okOrRejected(winner)], 'an attached caller gets the run’s result');
    for (const wait of specs.filter((s) => s.template === 'flowWait'))
      expectOneOf(wait, [okOrRejected(winner)], 'a shared handler waiting on the promise gets its outcome');
    for (const peek of specs.filter((s) => s.template === 'flowPeek')) {
      facts.racy.set(peek.label, true); // it races the approvers
      expectOneOf(peek, ['pending', okOrRejected(winner)], 'a peek sees nothing yet or the winner');
    }
    const won = approvers.filter((s) => plainOutput(s.label) === 'won');
    for (const s of approvers) expectOneOf(s, ['won', 'lost:409'], 'first writer wins');
    if (won.length > 1) fail('promise-double-win', `${group}: ${won.map((s) => s.label).join(', ')} were all told they won`);
    if (won.length === 0) fail('promise-winner-not-told', `${group}: the promise is ${show(winner)} but every approver was told it lost`);
    if (won.length === 1 && !same(asSettled(won[0]!.input as ResolverSpec), winner))
      fail('promise-winner-mismatch', `${group}: ${won[0]!.label} was told it won, but the promise is ${show(winner)}`);
    const stage = (await store.readState(stateScope('flow', run.key!))).get('stage');
    facts.states.set(group, stage);
    if (facts.outputs.get(run.label) !== undefined && stage !== facts.outputs.get(run.label))
      fail('state-mismatch', `${group}: stage is ${stage}, run returned ${facts.outputs.get(run.label)}`);
  }

  // Object keys: exclusive calls linearizable, state = their sum, shared reads see a prefix.
  // Increments are distinct powers of two, so a value is the set of calls it includes;
  // one-way sends add bits whose outputs nobody sees.
  for (const [group, specs] of groups) {
    if (!group.startsWith('counter/')) continue;
    const key = group.slice('counter/'.length);
    for (const s of specs) facts.racy.set(s.label, s.template !== 'sendAdd');
    const bit = (s: InvocationSpec) => (s.input as { n: number }).n;
    const visible = specs.filter(
      (s) => s.template === 'add' || s.template === 'addHeld' || s.template === 'addSlow' || s.template === 'callAdd',
    );
    const hidden = specs.filter((s) => s.template === 'sendAdd').reduce((m, s) => m | bit(s), 0);
    const all = [...visible, ...specs.filter((s) => s.template === 'sendAdd')].reduce((m, s) => m | bit(s), 0);
    const results = visible.map((s) => ({ s, n: bit(s), out: plainOutput(s.label) }));
    const state = (await store.readState(stateScope('counter', key))).get('n');
    facts.states.set(group, state);
    if (state !== (all === 0 ? undefined : JSON.stringify(all)))
      fail('state-mismatch', `${group}: n is ${state}, the calls added up to ${all}`);
    if (results.some((r) => typeof r.out !== 'number')) {
      for (const r of results)
        if (typeof r.out !== 'number' && !facts.outputs.get(r.s.label)?.startsWith('('))
          fail('wrong-output', `${r.s.label} returned ${facts.outputs.get(r.s.label)}`);
      continue;
    }
    results.sort((x, y) => (x.out as number) - (y.out as number));
    let before = 0;
    for (const r of results) {
      const out = r.out as number;
      // Includes itself and everything before it; anything else new is a hidden send.
      if ((out & r.n) === 0 || (out & before) !== before || ((out ^ before) & ~r.n & ~hidden) !== 0) {
        fail(
          'not-linearizable',
          `${group}: ${results.map((x) => `${x.s.label}(+${x.n})=${String(x.out)}`).join(', ')}${hidden ? ` (sends: ${hidden})` : ''}`,
        );
        break;
      }
      before = out;
    }
    for (const r of specs.filter((s) => s.template === 'read')) {
      const v = plainOutput(r.label);
      // A read sees a state between two calls: with a call's bit come all it saw.
      const ok = typeof v === 'number' && (v & ~all) === 0 && results.every((x) => (v & x.n) === 0 || (v & (x.out as number)) === x.out);
      if (!ok)
        fail('read-not-linearizable', `${r.label} read ${String(v)}; calls: ${results.map((x) => `+${x.n}=${String(x.out)}`).join(', ')}`);
    }
  }

  // Invocations nobody here named (callees of calls and sends): each ended once too.
  const named = new Set(world.ids.values());
  for (const item of store.items()) {
    if (item.sk !== META || typeof item.pk !== 'string') continue;
    const id = item.pk.slice(2);
    if (named.has(id)) continue;
    const meta = await store.getInvocation(id);
    const who = `${String(item.service)}.${String(item.handler)} ${world.name(id)} (started by a handler)`;
    if (!meta) continue;
    if (meta.status === 'suspended') {
      const present = await store.existingCompletions(id, meta.awaiting ?? []);
      fail(
        present.length > 0 ? 'lost-wakeup' : 'stuck-suspended',
        `${who} is suspended awaiting ${meta.awaiting?.join(',')}${present.length > 0 ? ` and ${present.join(',')} is there` : ''}`,
      );
    } else if (meta.status === 'running' || meta.status === 'pending') {
      fail(`stuck-${meta.status}`, `${who} is ${meta.status} at epoch ${meta.epoch}`);
    } else if ((world.finishes.get(id) ?? 0) !== 1) {
      fail('outcome-count', `${who} reached ${world.finishes.get(id) ?? 0} outcomes`);
    }
  }

  // Awakeables: one outcome, a definite answer to every resolver.
  const bySlot = new Map<string, typeof world.resolverRuns>();
  for (const run of world.resolverRuns) bySlot.set(`${run.owner}/${run.slot}`, [...(bySlot.get(`${run.owner}/${run.slot}`) ?? []), run]);
  for (const [slot, runs] of bySlot) {
    const [owner, name] = slot.split('/') as [string, string];
    const stored = await settled(owner, name);
    const accepted = runs.filter((r) => r.answer?.code === 'accepted');
    // Two resolvers sending exactly the same completion are both answered (a redelivery); different ones never.
    if (new Set(accepted.map((r) => okOrRejected(asSettled(r.spec)))).size > 1)
      fail('double-accept', `${slot}: ${accepted.length} resolvers with different completions were told they completed it`);
    for (const r of runs) {
      const mine = asSettled(r.spec);
      const who = `${slot} ${r.spec.kind} '${r.spec.value}'`;
      if (!r.answer) fail('no-answer', `${who} never got an answer`);
      else if (r.answer.code === 'accepted') {
        if (!same(mine, stored)) fail('accepted-but-lost', `${who} was accepted, but the awakeable is ${show(stored)}`);
      } else if (r.answer.status === 409) {
        // Rule 2: a 409 names the outcome (resolved or rejected) and when, never the winner's value.
        const outcome = r.answer.details?.outcome;
        const truth = stored === undefined ? undefined : stored.ok ? 'resolved' : 'rejected';
        if (outcome !== truth) fail('409-wrong-outcome', `${who} got 409 naming ${String(outcome)}, but the awakeable is ${show(stored)}`);
        if (Object.keys(r.answer.details ?? {}).some((k) => k !== 'outcome' && k !== 'completedAt'))
          fail('409-reveals', `${who} got 409 with ${JSON.stringify(r.answer.details)}`);
        if (same(mine, stored)) fail('409-to-a-redelivery', `${who} sent exactly the completion that stands, and got 409`);
      } else if (r.answer.status !== 410) {
        fail('resolver-unexpected-answer', `${who} got ${r.answer.status} ${r.answer.code}`);
      }
    }
    const ownerSpec = world.specs.find((s) => s.label === owner);
    const viaRelay = (ownerSpec?.slots[name] ?? []).some((s) => s.via === 'relay');
    const closedByTimeout = ownerSpec?.template === 'sleeper' && same(stored, TIMED_OUT);
    if (stored && !viaRelay && !closedByTimeout && !runs.some((r) => same(asSettled(r.spec), stored)))
      fail('completion-from-nowhere', `${slot} is ${show(stored)}, which no resolver sent`);
  }

  return { violations, facts };
}

/**
 * Compares a faulty run with the fault-free run of the same workload, where
 * the outcome does not depend on a race.
 *
 * @example
 * ```ts
 * compareWithReference(faulty.facts, reference.facts) // [] when they agree
 * ```
 */
export function compareWithReference(faulty: RunFacts, reference: RunFacts): Violation[] {
  const out: Violation[] = [];
  for (const [label, output] of faulty.outputs) {
    const ref = reference.outputs.get(label);
    if (ref === undefined || faulty.racy.get(label) !== false || reference.racy.get(label) !== false) continue;
    if (ref !== output)
      out.push({ kind: 'diverged-from-reference', detail: `${label} returned ${output}; the fault-free run returned ${ref}` });
  }
  for (const [group, state] of faulty.states) {
    if (!group.startsWith('counter/') || !reference.states.has(group)) continue;
    const ref = reference.states.get(group);
    if (ref !== state)
      out.push({ kind: 'diverged-from-reference', detail: `${group} ended with n = ${state}; the fault-free run with ${ref}` });
  }
  return out;
}
