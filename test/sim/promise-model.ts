/**
 * An exhaustive check of the handshake that lets a shared workflow handler
 * wait on the run's durable promise (docs/architecture.md, "Workflow
 * promises"), in the style of the wake model beside DESIGN.md: every
 * interleaving of one waiter, one resolver and the wake, with stream
 * records delivered in any order and possibly twice, and the waiter's
 * attempts crashing between any two of their writes (Lambda retries them).
 *
 * Items: `W` (the waiter item beside the promise), `P` (the promise), `C`
 * (the waiter's own completion), `J` (the waiter's `promise-await` entry).
 * Checked in every end state: if the promise was resolved, the waiter
 * finished; and no attempt of it ever finished twice.
 */

/** Where one attempt of the waiter is. */
type Pc = 'load' | 'putW' | 'readP' | 'putC' | 'append' | 'decide';

interface Attempt {
  pc: Pc;
  /** It saw `P` when it read it. */
  sawP: boolean;
  /** It knows `C` (loaded, or written itself). */
  knowsC: boolean;
}

interface State {
  P: boolean;
  W: boolean;
  C: boolean;
  J: boolean;
  /** The waiter's meta: running (an attempt holds it), suspended awaiting C, or done. */
  status: 'running' | 'suspended' | 'done';
  attempt: Attempt | undefined;
  /** Invokes waiting to start an attempt (the wake's, or Lambda's retry of a crashed one). */
  invokes: number;
  /** Stream records not delivered yet; `again` marks a duplicate kept for later. */
  records: { kind: 'P' | 'C' | 'suspended'; again: boolean }[];
  crashes: number;
  finishes: number;
}

/** The result of exploring: how many states, and the traces of the first violations. */
export interface ModelResult {
  states: number;
  violations: string[];
}

const MAX_CRASHES = 3;

/** Which halves of the handshake the model keeps (a broken one must show a lost wake-up). */
export interface Handshake {
  /** The wake hands the promise to the waiters recorded beside it. */
  relay: boolean;
  /** The waiter reads the promise after recording itself. */
  look: boolean;
}

function next(s: State, rules: Handshake): [string, State][] {
  const out: [string, State][] = [];
  const copy = (): State => ({ ...s, attempt: s.attempt && { ...s.attempt }, records: s.records.map((r) => ({ ...r })) });

  // The resolver writes the promise (first writer wins); its record follows.
  if (!s.P) {
    const t = copy();
    t.P = true;
    t.records.push({ kind: 'P', again: false });
    out.push(['resolve P', t]);
  }

  // The wake handles a record, in any order; a record may come once more later.
  s.records.forEach((record, i) => {
    for (const duplicate of record.again ? [false] : [false, true]) {
      const t = copy();
      t.records.splice(i, 1);
      if (duplicate) t.records.push({ ...record, again: true });
      if (record.kind === 'P') {
        // Relay: the waiters recorded by now get the outcome (first writer wins).
        if (rules.relay && t.W && !t.C) {
          t.C = true;
          t.records.push({ kind: 'C', again: false });
        }
      } else if (record.kind === 'C') {
        if (t.status === 'suspended') t.invokes++;
      } else if (t.C) t.invokes++; // a suspension record: is what it awaits there?
      out.push([`wake on ${record.kind}${duplicate ? ' (kept a duplicate)' : ''}`, t]);
    }
  });

  // An invoke starts an attempt when nobody runs (acquire; a later duplicate finds it taken or done).
  if (s.invokes > 0) {
    const t = copy();
    t.invokes--;
    if (t.status === 'suspended' && !t.attempt) {
      t.status = 'running';
      t.attempt = { pc: 'load', sawP: false, knowsC: false };
    }
    out.push(['invoke', t]);
  }

  const a = s.attempt;
  if (a) {
    // A crash between any two steps: Lambda retries the invoke later.
    if (s.crashes < MAX_CRASHES) {
      const t = copy();
      t.crashes++;
      t.attempt = undefined;
      t.status = 'suspended'; // what the lease's expiry and recovery amount to: runnable again
      t.invokes++;
      out.push([`crash at ${a.pc}`, t]);
    }
    const t = copy();
    const x = t.attempt!;
    switch (x.pc) {
      case 'load':
        x.knowsC = t.C;
        // A journaled entry replays: its writes are not made again.
        x.pc = t.J ? 'decide' : 'putW';
        break;
      case 'putW':
        t.W = true;
        x.pc = 'readP';
        break;
      case 'readP':
        x.sawP = rules.look && t.P;
        x.pc = x.sawP ? 'putC' : 'append';
        break;
      case 'putC':
        if (!t.C) {
          t.C = true;
          t.records.push({ kind: 'C', again: false });
        }
        x.knowsC = true;
        x.pc = 'append';
        break;
      case 'append':
        t.J = true;
        x.pc = 'decide';
        break;
      case 'decide':
        t.attempt = undefined;
        if (x.knowsC) {
          t.status = 'done';
          t.finishes++;
        } else {
          t.status = 'suspended';
          t.records.push({ kind: 'suspended', again: false });
        }
        break;
    }
    out.push([`waiter ${a.pc}`, t]);
  }
  return out;
}

function key(s: State): string {
  const records = s.records.map((r) => `${r.kind}${r.again ? '+' : ''}`).sort();
  return JSON.stringify({ ...s, records });
}

/**
 * Explores every interleaving from the waiter's first invoke (the promise
 * not yet resolved), depth first.
 *
 * @example
 * ```ts
 * const { states, violations } = explore(); // violations: []
 * explore({ relay: false, look: true }).violations // a lost wake-up
 * ```
 */
export function explore(rules: Handshake = { relay: true, look: true }): ModelResult {
  const start: State = {
    P: false,
    W: false,
    C: false,
    J: false,
    status: 'suspended',
    attempt: undefined,
    invokes: 1,
    records: [],
    crashes: 0,
    finishes: 0,
  };
  const seen = new Set<string>();
  const stack: [State, string[]][] = [[start, []]];
  const violations: string[] = [];
  while (stack.length > 0) {
    const [s, path] = stack.pop()!;
    const k = key(s);
    if (seen.has(k)) continue;
    seen.add(k);
    if (s.finishes > 1 && violations.length < 3) violations.push(`finished twice: ${path.join(' → ')}`);
    const moves = next(s, rules);
    if (moves.length === 0 && s.P && s.status !== 'done' && violations.length < 3)
      violations.push(`lost wake-up (the promise is resolved, the waiter is ${s.status}): ${path.join(' → ')}`);
    for (const [step, t] of moves) stack.push([t, [...path, step]]);
  }
  return { states: seen.size, violations };
}
