/**
 * A bounded, seeded run of hostile requests against local planes on
 * loopback, in both auth modes (open, and closed by an API key), that
 * checks DESIGN rules 7 and 11 from outside:
 *
 * - every answer is a precise status with a JSON `{ code, message }` when it
 *   refuses, never a 5xx, never slower than 10 s, and the plane never dies;
 * - a refused request changes nothing: the requests expected to be refused
 *   run one at a time, with a snapshot of the whole table before and after
 *   each, so any change is attributed to the request that made it;
 * - racing and duplicated resolves of one awakeable: different completions
 *   get one winner and 409s, the same completion sent again gets 2xx.
 *
 * `npm run fuzz` runs it at its default size (test/fuzz/cli.ts); a slice
 * with a time budget runs in `npm test` (test/fuzz/fuzz.test.ts).
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  github,
  slack,
  stripe,
  handlers,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { IdSigner, derivedInvocationId, newInvocationId } from '../../src/engine/ids.ts';
import { localClientConfig } from '../../src/local/dynamodb-local.ts';
import { startLocalPlane, type LocalPlane } from '../../src/local/plane.ts';
import { Prng } from '../sim/prng.ts';

/** The longest an answer may take before the run counts a hang. */
export const HANG_MS = 10_000;

/**
 * Options of {@link runFuzz}.
 *
 * @example
 * ```ts
 * const options: FuzzOptions = { requests: 2_000, seed: 1, dynamoDbEndpoint: 'http://127.0.0.1:8000' };
 * ```
 */
export interface FuzzOptions {
  /** How many requests, over both modes. */
  requests: number;
  seed: number;
  /** DynamoDB Local to use (each plane gets its own table). */
  dynamoDbEndpoint: string;
  /** Stop sending new requests after this long (the slice in `npm test`). */
  budgetMs?: number;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/**
 * What a run found.
 *
 * @example
 * ```ts
 * const report = await runFuzz(options);
 * if (report.violations.length > 0) process.exit(1);
 * ```
 */
export interface FuzzReport {
  /** Requests sent, by mode. */
  sent: { open: number; keyed: number };
  /** Answers by status, by mode (`hang` and `no answer` included). */
  tally: { open: Record<string, number>; keyed: Record<string, number> };
  /** Refused requests checked against a table snapshot before and after. */
  snapshotted: number;
  /** Awakeables raced over. */
  races: number;
  /** Everything that broke a rule, with the request that did it. */
  violations: string[];
  ms: number;
}

/** One request, as sent on the wire (the path raw, not normalized). */
interface Shot {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Expected to be refused: sent alone, between two snapshots. */
  refused: boolean;
}

interface Answer {
  status: number | 'hang' | 'no answer';
  body: string;
  ms: number;
}

const API_KEY = 'fuzz-owner-api-key-31337';
const SIGNING_KEY = 'fuzz-signing-key-0123456789abcdef';
/** The examples' shapes, without their console lines: a step, an awakeable, an exclusive object call on an awakeable, a workflow on a promise. */
const HOOK_SECRET = 'fuzz-webhook-secret';
const STRIPE_SECRET = 'whsec_fuzz-stripe-secret';
const SLACK_SECRET = 'fuzz-slack-signing-secret';

const SERVICES = [
  service({
    name: 'greeter',
    handlers: { greet: async (ctx: Context, name: unknown) => ctx.run('greeting', () => `Hello, ${String(name)}!`) },
  }),
  service({ name: 'review', handlers: { request: async (ctx: Context) => ctx.awakeable<unknown>().promise } }),
  object({ name: 'signoff', handlers: { sign: async (ctx: ObjectContext) => ctx.awakeable<unknown>().promise } }),
  // A per-request callback URL, signed: every unsigned or forged delivery must be refused without a write.
  service({
    name: 'hooked',
    handlers: { wait: async (ctx: Context) => ctx.webhook({ verify: github({ secret: 'FUZZ_HOOK_SECRET' }) }).promise },
  }),
  // Waits for a provider event on a named endpoint: a forged or stale delivery must neither complete it nor store anything.
  service({
    name: 'paid',
    handlers: { wait: async (ctx: Context) => ctx.waitForEvent('stripe', { match: { 'body.data.object.id': 'pi_fuzz' } }) },
  }),
  workflow({
    name: 'reviewFlow',
    handlers: {
      run: async (ctx: WorkflowContext) => ctx.promise<unknown>('review').get(),
      submitReview: handlers.workflow.shared(async (ctx: WorkflowSharedContext, verdict: unknown) =>
        ctx.promise('review').resolve(verdict),
      ),
    },
  }),
];

/**
 * Runs the fuzz: an open plane and a keyed one, each seeded with waiting
 * invocations, then hostile requests, serialized where a refusal is
 * expected, concurrent for the racing resolves.
 *
 * @example
 * ```ts
 * const report = await runFuzz({ requests: 300, seed: 7, dynamoDbEndpoint, budgetMs: 30_000 });
 * ```
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  // Each auth mode gets half the budget, so a slow machine still sends both their share.
  const share = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : options.budgetMs / 2;
  const report: FuzzReport = {
    sent: { open: 0, keyed: 0 },
    tally: { open: {}, keyed: {} },
    snapshotted: 0,
    races: 0,
    violations: [],
    ms: 0,
  };
  const dynamodb = new DynamoDBClient(localClientConfig(options.dynamoDbEndpoint));
  try {
    for (const mode of ['open', 'keyed'] as const) {
      const plane = await startLocalPlane({
        services: SERVICES,
        port: 0,
        inMemory: true,
        dynamoDbEndpoint: options.dynamoDbEndpoint,
        tableName: `fuzz-${mode}-${options.seed}-${Date.now()}`,
        signingKey: SIGNING_KEY,
        secrets: { FUZZ_HOOK_SECRET: HOOK_SECRET, FUZZ_STRIPE_SECRET: STRIPE_SECRET, FUZZ_SLACK_SECRET: SLACK_SECRET },
        webhooks: {
          stripe: { verify: stripe({ secret: 'FUZZ_STRIPE_SECRET' }), correlate: ['body.data.object.id'] },
          slack: { verify: slack({ secret: 'FUZZ_SLACK_SECRET' }), correlate: ['body.event.channel'] },
        },
        ingressWaitMs: 1_000,
        apiKey: mode === 'keyed' ? API_KEY : undefined,
      });
      try {
        await fuzzPlane(
          plane,
          mode,
          Math.floor(options.requests / 2),
          new Prng(options.seed, mode),
          Date.now() + share,
          report,
          dynamodb,
          options.progress,
        );
      } finally {
        await plane.stop();
      }
    }
  } finally {
    dynamodb.destroy();
  }
  report.ms = Date.now() - started;
  return report;
}

async function fuzzPlane(
  plane: LocalPlane,
  mode: 'open' | 'keyed',
  requests: number,
  rng: Prng,
  deadline: number,
  report: FuzzReport,
  dynamodb: DynamoDBClient,
  progress: FuzzOptions['progress'],
): Promise<void> {
  const owner: Record<string, string> = mode === 'keyed' ? { 'x-api-key': API_KEY } : {};
  const send = async (shot: Shot): Promise<Answer> => {
    report.sent[mode]++;
    const answer = await fire(plane, shot);
    const tally = report.tally[mode];
    tally[String(answer.status)] = (tally[String(answer.status)] ?? 0) + 1;
    check(shot, answer, report);
    return answer;
  };
  const seeded = await seed(plane, owner);
  const snapshot = () => tableSnapshot(dynamodb, plane.tableName);
  await quiet(plane, snapshot);
  const serialized = Math.floor(requests * 0.8);
  const shots = hostile(rng, seeded, mode);

  // Serialized: each expected refusal between two snapshots.
  let before = await snapshot();
  for (let i = 0; i < serialized && Date.now() < deadline; i++) {
    const shot = shots.next().value as Shot;
    const answer = await send(shot);
    if (typeof answer.status === 'number' && answer.status < 400) {
      // Accepted after all (a harmless read, or a request that was valid): let what it started settle.
      before = await quiet(plane, snapshot);
      continue;
    }
    const after = await snapshot();
    report.snapshotted++;
    if (after.join('\n') !== before.join('\n')) {
      report.violations.push(`[${mode}] refused request changed the table: ${describe(shot)} → ${answer.status}: ${diff(before, after)}`);
      before = await quiet(plane, snapshot);
    } else before = after;
    if (i % 200 === 199) progress?.(`  ${mode}: ${i + 1}/${serialized} serialized, ${report.violations.length} violations`);
  }

  // Concurrent: racing and duplicated resolves, valid starts among them.
  const remaining = requests - report.sent[mode];
  for (let sentHere = 0; sentHere < remaining && Date.now() < deadline;) {
    const invocationId = (await json(plane, 'POST', '/review/request/send', '{"title":"race"}', owner))?.invocationId as string | undefined;
    const awakeableId = invocationId && (await awakeableOf(plane, invocationId, owner));
    if (!awakeableId) {
      report.violations.push(`[${mode}] a review started for a race never awaited its awakeable`);
      return;
    }
    const racers: Shot[] = [];
    const values = ['{"approved":true}', '{"approved":false}', '{"approved":true}'];
    for (let r = 0; r < 6; r++) {
      const kind = rng.pick(['resolve', 'resolve', 'reject', 'succeed'] as const);
      const value = rng.pick(values);
      racers.push(
        kind === 'succeed'
          ? {
              label: `race: AWS succeed ${value}`,
              method: 'POST',
              path: `/2025-12-01/durable-execution-callbacks/${awakeableId}/succeed`,
              body: value,
              refused: false,
            }
          : {
              label: `race: ${kind} ${kind === 'reject' ? 'no' : value}`,
              method: 'POST',
              path: `/restate/${rng.pick(['awakeables', 'a'])}/${awakeableId}/${kind}`,
              headers: { 'content-type': kind === 'reject' ? 'text/plain' : 'application/json' },
              body: kind === 'reject' ? 'no' : value,
              refused: false,
            },
      );
    }
    racers.push({
      label: 'race: a valid start',
      method: 'POST',
      path: `/signoff/race-${rng.int(4)}/sign/send`,
      headers: { ...owner, 'content-type': 'application/json' },
      body: '{"signer":"fuzz"}',
      refused: false,
    });
    const answers = await Promise.all(racers.map(send));
    sentHere += racers.length;
    report.races++;
    checkRace(mode, racers.slice(0, -1), answers.slice(0, -1), report);
  }
}

/** The invocations a plane is seeded with: something to aim every kind of request at. */
interface Seeded {
  reviewId: string;
  awakeableId: string;
  webhookId: string;
  workflowKey: string;
  workflowRun: string;
  holderId: string;
  queuedId: string;
  finishedId: string;
}

async function seed(plane: LocalPlane, owner: Record<string, string>): Promise<Seeded> {
  const start = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const answer = await json(plane, 'POST', path, body, { ...owner, ...headers });
    if (!answer?.invocationId) throw new Error(`seeding ${path} failed: ${JSON.stringify(answer)}`);
    return answer.invocationId as string;
  };
  const reviewId = await start('/review/request/send', '{"title":"seed"}');
  const holderId = await start('/signoff/doc-1/sign/send', '{"signer":"ada"}');
  const queuedId = await start('/signoff/doc-1/sign/send', '{"signer":"grace"}');
  const workflowRun = await start('/reviewFlow/seed-flow/run/send', '{"title":"flow"}');
  const finishedId = await start('/greeter/greet/send', '"seed"', { 'idempotency-key': 'seed-finished' });
  const awakeableId = await awakeableOf(plane, reviewId, owner);
  const webhookId = await awakeableOf(plane, await start('/hooked/wait/send', 'null'), owner);
  await start('/paid/wait/send', 'null');
  await awakeableOf(plane, holderId, owner);
  for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const status = await json(plane, 'GET', `/restate/invocation/${finishedId}`, undefined, owner);
    if (status?.status === 'completed')
      return {
        reviewId,
        awakeableId: awakeableId!,
        webhookId: webhookId!,
        workflowKey: 'seed-flow',
        workflowRun,
        holderId,
        queuedId,
        finishedId,
      };
  }
  throw new Error('seeding: the greeter call did not finish');
}

async function awakeableOf(plane: LocalPlane, invocationId: string, owner: Record<string, string>): Promise<string | undefined> {
  for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const status = await json(plane, 'GET', `/restate/invocation/${invocationId}`, undefined, owner);
    const id = status?.awaiting?.find((a: { awakeableId?: string }) => a.awakeableId)?.awakeableId as string | undefined;
    if (status?.status === 'suspended' && id) return id;
  }
  return undefined;
}

/** The hostile requests, drawn from the seed: each a request Dormant must refuse (or at most read). */
function* hostile(rng: Prng, s: Seeded, mode: 'open' | 'keyed'): Generator<Shot> {
  const other = new IdSigner('an-attackers-own-secret-0000000');
  const genuine = new IdSigner(SIGNING_KEY);
  const unknownInvocation = genuine.awakeableId(newInvocationId(), 0);
  const finishedAwakeable = genuine.awakeableId(s.finishedId, 9);
  const alter = (id: string) => {
    const at = rng.between(5, id.length - 1);
    const c = id[at] === 'A' ? 'B' : 'A';
    return id.slice(0, at) + c + id.slice(at + 1);
  };
  const ids = () =>
    rng.pick([
      alter(s.awakeableId),
      s.awakeableId.slice(0, rng.between(4, s.awakeableId.length - 1)),
      s.awakeableId + rng.pick(['A', 'AA', '=', '%00', '/x']),
      other.awakeableId(s.reviewId, 0),
      'awk_' + Buffer.from(Array.from({ length: rng.between(1, 80) }, () => rng.int(256))).toString('base64url'),
      'awk_' + 'A'.repeat(rng.pick([0, 1, 71, 82, 86, 500, 5000])),
      'awk_AUL_s30WtVBnFRnciaZhLRUAAAAAT2cYCDUVk64NmD8UtkaZNnJKumpC0HlaelEVa0HjPJU', // a v1 id of another invocation and key
      unknownInvocation,
      finishedAwakeable,
      'sign_1' + 'x'.repeat(40),
      '%2e%2e',
      '..',
      '',
    ]);
  const invocationIds = () =>
    rng.pick([
      'inv_short',
      'inv_' + 'A'.repeat(22),
      newInvocationId(),
      s.reviewId + 'x',
      '%00',
      '..',
      encodeURIComponent('inv_' + '💥'.repeat(11)),
      derivedInvocationId('idempotency', 'x'),
    ]);
  const keys = () =>
    rng.pick([
      'k'.repeat(rng.pick([1_025, 3_000, 20_000])),
      encodeURIComponent('é'.repeat(rng.pick([513, 2_000]))),
      encodeURIComponent('🔑'.repeat(300)),
      '%00',
      '%ZZ',
      '..',
      '%2e%2e',
      '%2F',
      encodeURIComponent('a/b'),
    ]);
  const delays = () =>
    rng.pick([
      '1e309',
      '-1',
      '999999999999999999999d',
      '366d',
      '31536000001',
      'NaN',
      '0x10',
      'Infinity',
      '1.5.5s',
      '9007199254740993',
      '1'.repeat(300),
      '%00',
      '10y',
    ]);
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'SEARCH'];
  const bodies = () =>
    rng.pick<string | Buffer>([
      '{',
      '{"approved":tru',
      '\u0000\u0001\u0002',
      '"' + 'x'.repeat(140 * 1024) + '"',
      Buffer.alloc(rng.pick([16, 4096]), rng.int(256)),
      'null'.repeat(3),
      '[' + '['.repeat(5_000),
      '{"a":' + '1'.repeat(400) + '}',
      JSON.stringify({ n: 1e308 * 10 }),
    ]);
  const authHeaders = (): Record<string, string> =>
    mode === 'open'
      ? {}
      : rng.pick<Record<string, string>>([
          {},
          { 'x-api-key': 'wrong-key' },
          { authorization: 'Bearer ' },
          { authorization: `Basic ${API_KEY}` },
          { 'x-api-key': API_KEY },
        ]);
  const owner: Record<string, string> = mode === 'keyed' ? { 'x-api-key': API_KEY } : {};

  for (;;) {
    const kind = rng.weighted<string>([
      ['callback-id', 30],
      ['webhook', 12],
      ['endpoint', 10],
      ['publish', 6],
      ['callback-method', 8],
      ['callback-body', 10],
      ['callback-path', 8],
      ['aws-callback', 10],
      ['start-key', 14],
      ['start-body', 10],
      ['start-delay', 8],
      ['start-other', 8],
      ['invocation-id', 10],
      ['cancel-finished', 4],
      ['purge-unfinished', 4],
      ['encoded-path', 12],
      ['foreign', 10],
      ['ui-path', 4],
      ['huge', 1],
    ]);
    const auth = authHeaders();
    switch (kind) {
      case 'webhook': {
        // A delivery to a webhook URL: a forged, altered or foreign id, an awakeable id, or the genuine id unsigned or badly signed.
        const body = rng.pick([
          '{"action":"completed"}',
          'a=1&b=2',
          '',
          'x'.repeat(rng.pick([10, 200_000])),
          Buffer.alloc(64, rng.int(256)).toString('latin1'),
        ]);
        const genuineId = rng.chance(0.5);
        const id = genuineId
          ? s.webhookId
          : rng.pick([
              alter(s.webhookId),
              s.webhookId.slice(0, 30),
              other.webhookId(s.reviewId, 0),
              genuine.webhookId(newInvocationId(), 0),
              s.awakeableId,
              ids(),
            ]);
        const wrongSignature =
          'sha256=' +
          createHmac('sha256', rng.pick(['wrong', HOOK_SECRET + 'x']))
            .update(body)
            .digest('hex');
        yield {
          label: genuineId
            ? 'a delivery to a signed webhook, unsigned or signed wrongly'
            : 'a delivery to a forged, altered or foreign webhook id',
          method: rng.pick(['POST', 'PUT', 'GET', 'PATCH', 'DELETE']),
          path: `/restate/webhooks/${id}${rng.pick(['', '', '?a=1', '/extra'])}`,
          headers: {
            'content-type': rng.pick([
              'application/json',
              'application/x-www-form-urlencoded',
              'text/plain',
              'application/octet-stream',
              'image/png',
            ]),
            ...(rng.chance(0.7) ? { 'x-hub-signature-256': rng.pick([wrongSignature, 'sha256=', 'md5=abc', 'x'.repeat(5000)]) } : {}),
          },
          body,
          refused: true,
        };
        break;
      }
      case 'endpoint': {
        // A delivery to a provider endpoint: unsigned, signed with the wrong secret, stale, malformed, or to a name nobody declared.
        const event = JSON.stringify({ id: `evt_${rng.int(1e9)}`, data: { object: { id: 'pi_fuzz' } }, type: 'payment_intent.succeeded' });
        const body = rng.pick([event, '{"type":"url_verification","challenge":"c"}', '', '{', 'x'.repeat(rng.pick([10, 200_000]))]);
        const t = Math.floor(Date.now() / 1000) - rng.pick([0, 0, 3_600, -3_600, 10 ** 9]);
        const sign = (secret: string) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
        const stale = t !== Math.floor(Date.now() / 1000);
        const stripeSignature = rng.pick([
          ...(stale ? [sign(STRIPE_SECRET)] : []),
          sign('wrong'),
          sign(STRIPE_SECRET + 'x'),
          `t=${t}`,
          'v1=abc',
          'x'.repeat(5000),
        ]);
        const slackTs = String(t);
        const slackSignature = rng.pick([
          `v0=${createHmac('sha256', 'wrong').update(`v0:${slackTs}:${body}`).digest('hex')}`,
          ...(stale ? [`v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${slackTs}:${body}`).digest('hex')}`] : []),
          'v0=',
        ]);
        yield {
          label: 'a delivery to a provider endpoint: unsigned, badly signed, stale, or to an unknown name',
          method: rng.pick(['POST', 'POST', 'POST', 'GET', 'PUT']),
          path: `/webhooks/${rng.pick(['stripe', 'stripe', 'slack', 'nobody', '%2e%2e', 'stripe/extra'])}`,
          headers: {
            'content-type': rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']),
            ...(rng.chance(0.8) ? { 'stripe-signature': stripeSignature } : {}),
            ...(rng.chance(0.5) ? { 'x-slack-request-timestamp': slackTs, 'x-slack-signature': slackSignature } : {}),
          },
          body,
          refused: true,
        };
        break;
      }
      case 'publish': {
        // An event published by the owner's systems: malformed, no correlation value, too large, an unknown name, the wrong method, or without the key.
        const badBody = rng.pick([
          '{',
          '[1,2]',
          '"text"',
          'null',
          '{"unrelated":true}',
          '{"data":{"object":{"id":{"nested":1}}}}',
          JSON.stringify({ data: { object: { id: 'pi_fuzz' } }, blob: 'x'.repeat(140_000) }),
        ]);
        const unknownName = rng.chance(0.2);
        const noKey = mode === 'keyed' && rng.chance(0.3);
        yield {
          label: 'a published event: malformed, uncorrelated, too large, to an unknown name, the wrong method, or unauthorized',
          method: rng.chance(0.1) ? rng.pick(['GET', 'PUT', 'DELETE']) : 'POST',
          path: `/restate/events/${unknownName ? rng.pick(['nobody', 'Stripe', '%00']) : 'stripe'}`,
          headers: {
            'content-type': 'application/json',
            ...(noKey ? rng.pick<Record<string, string>>([{}, { 'x-api-key': 'wrong-key' }, { authorization: 'Bearer ' }]) : owner),
            ...(rng.chance(0.2) ? { 'idempotency-key': rng.pick(['', 'k'.repeat(300)]) } : {}),
          },
          body: noKey ? JSON.stringify({ data: { object: { id: 'pi_fuzz' } } }) : badBody,
          refused: true,
        };
        break;
      }
      case 'callback-id':
        yield {
          label: 'resolve or reject with a forged, altered, truncated or foreign id',
          method: 'POST',
          path: `/restate/${rng.pick(['awakeables', 'a'])}/${ids()}/${rng.pick(['resolve', 'reject'])}`,
          headers: { 'content-type': 'application/json' },
          body: '{"approved":true}',
          refused: true,
        };
        break;
      case 'callback-method':
        yield {
          label: 'a callback route with the wrong method',
          method: rng.pick(methods.filter((m) => m !== 'POST')),
          path: `/restate/awakeables/${s.awakeableId}/resolve`,
          refused: true,
        };
        break;
      case 'callback-body':
        yield {
          label: 'resolve the real awakeable with a malformed or oversized body',
          method: 'POST',
          path: `/restate/awakeables/${s.awakeableId}/resolve`,
          headers: {
            'content-type': rng.pick(['application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x']),
          },
          body: rng.pick<string | Buffer>([
            '{',
            '{"approved":tru',
            '"' + 'x'.repeat(140 * 1024) + '"',
            Buffer.from([0xff, 0xfe, 0x00]),
            '[' + '['.repeat(5_000),
          ]),
          refused: true,
        };
        break;
      case 'callback-path':
        yield {
          label: 'a callback-looking path that names no operation',
          method: 'POST',
          path: rng.pick([
            `/restate/awakeables/${s.awakeableId}`,
            `/restate/awakeables/${s.awakeableId}/approve`,
            `/restate/awakeables/${s.awakeableId}/resolve/extra`,
            `/restate/a/`,
            `/restate//awakeables/${s.awakeableId}/resolve`,
            `/restate%2Fawakeables/${s.awakeableId}/resolve`,
            `/2025-12-01/durable-execution-callbacks/${s.awakeableId}/cancel`,
            `/2025-12-01/other/${s.awakeableId}/succeed`,
          ]),
          body: '{}',
          refused: true,
        };
        break;
      case 'aws-callback':
        yield {
          label: 'the AWS callback API with a bad id or a bad failure body',
          method: 'POST',
          path: rng.chance(0.7)
            ? `/2025-12-01/durable-execution-callbacks/${ids()}/${rng.pick(['succeed', 'fail', 'heartbeat'])}`
            : `/2025-12-01/durable-execution-callbacks/${s.awakeableId}/fail`,
          body: rng.pick(['{', '{"ErrorMessage":', 'not json', '"' + 'y'.repeat(140 * 1024) + '"']),
          refused: true,
        };
        break;
      case 'start-key':
        yield {
          label: 'a start with a key the table cannot hold, or none where one is needed',
          method: 'POST',
          path: rng.pick([
            `/signoff/${keys()}/sign/send`,
            `/reviewFlow/${keys()}/run/send`,
            `/signoff/sign/send`,
            `/greeter/${keys()}/greet/send`,
          ]),
          headers: {
            ...auth,
            'content-type': 'application/json',
            ...(rng.chance(0.3) ? { 'idempotency-key': 'i'.repeat(rng.pick([1_025, 5_000])) } : {}),
          },
          body: '{"signer":"x","title":"x"}',
          refused: true,
        };
        break;
      case 'start-body':
        yield {
          label: 'a start with a malformed, binary or oversized body',
          method: 'POST',
          path: rng.pick(['/greeter/greet/send', '/review/request/send', '/reviewFlow/body-key/run/send', '/greeter/greet']),
          headers: { ...auth, 'content-type': rng.pick(['application/json', 'text/plain', 'application/octet-stream', 'application/xml']) },
          body: bodies(),
          refused: true,
        };
        break;
      case 'start-delay':
        yield {
          label: 'a delayed send with an extreme or malformed ?delay=',
          method: 'POST',
          path: `/greeter/greet${rng.chance(0.8) ? '/send' : ''}?delay=${delays()}`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: '"late"',
          refused: true,
        };
        break;
      case 'start-other':
        yield rng.pick<Shot>([
          {
            label: 'an unknown service or handler',
            method: 'POST',
            path: rng.pick(['/nope/x', '/greeter/nope', '/greeter', '/']),
            headers: auth,
            body: '1',
            refused: true,
          },
          {
            label: 'ifExists with a bad value',
            method: 'POST',
            path: `/reviewFlow/${s.workflowKey}/run/send?ifExists=${rng.pick(['replace', '', '%00', 'fail%00'])}`,
            headers: auth,
            body: '{}',
            refused: true,
          },
          {
            label: 'a second submit of a workflow key with ifExists=fail',
            method: 'POST',
            path: `/reviewFlow/${s.workflowKey}/run/send?ifExists=fail`,
            headers: { ...owner, 'content-type': 'application/json' },
            body: '{"title":"squat"}',
            refused: true,
          },
          {
            label: 'an Idempotency-Key reused with another body',
            method: 'POST',
            path: '/greeter/greet/send',
            headers: { ...owner, 'idempotency-key': 'seed-finished' },
            body: '"another"',
            refused: true,
          },
          { label: 'a key on a service', method: 'POST', path: '/greeter/k/greet/send', headers: owner, body: '"x"', refused: true },
        ]);
        break;
      case 'invocation-id':
        yield {
          label: 'status, output, cancel, kill or purge of a malformed or unknown invocation id',
          method: rng.pick(['GET', 'DELETE', 'PATCH']),
          path: `/restate/invocation/${invocationIds()}${rng.pick(['', '/output', '/cancel', '/kill', '/purge', '/attach', '/journal', '/nope'])}`,
          headers: rng.chance(0.5) ? owner : auth,
          refused: true,
        };
        break;
      case 'foreign': {
        // The open plane's own guard (a keyed plane's is its key): a rebound name, or a change from another origin.
        const rebound = rng.chance(0.5);
        yield {
          label: rebound ? 'a request addressed to a rebound name (DNS rebinding)' : 'a state change from another origin (CSRF)',
          method: rebound ? rng.pick(['GET', 'PATCH', 'POST', 'DELETE']) : rng.pick(['PATCH', 'POST', 'DELETE']),
          path: rng.pick([
            `/restate/invocation/${s.reviewId}`,
            `/restate/invocation/${s.reviewId}/cancel`,
            `/restate/invocation/${s.reviewId}/kill`,
            `/restate/invocation/${s.reviewId}/journal`,
            '/review/request/send',
            ...(rebound ? ['/ui/', '/ui/app.js'] : []),
          ]),
          headers: {
            ...(mode === 'keyed' ? rng.pick<Record<string, string>>([{}, { 'x-api-key': 'wrong-key' }]) : {}),
            'content-type': 'application/json',
            ...(rebound
              ? { host: rng.pick(['attacker.example', 'localhost.attacker.example:8080', '127.0.0.1.nip.io', '[::2]', 'LOCALHOST.']) }
              : rng.pick<Record<string, string>>([
                  { origin: 'https://evil.example' },
                  { origin: 'null' },
                  { origin: 'http://localhost.evil.example' },
                  { 'sec-fetch-site': 'cross-site' },
                ])),
          },
          body: '{"title":"forged"}',
          refused: true,
        };
        break;
      }
      case 'ui-path':
        yield {
          label: "a path under /ui/ that is not one of the page's files",
          method: 'GET',
          path: rng.pick(['/ui/..%2f..%2fpackage.json', '/ui/app.js/x', '/ui/%2e%2e/', '/ui//app.js', '/ui/index.html', '/ui/app.js%00']),
          headers: auth,
          refused: true,
        };
        break;
      case 'cancel-finished':
        yield {
          label: 'cancel or kill a finished invocation',
          method: 'PATCH',
          path: `/restate/invocation/${s.finishedId}/${rng.pick(['cancel', 'kill'])}`,
          headers: owner,
          refused: true,
        };
        break;
      case 'purge-unfinished':
        yield {
          label: 'purge an unfinished invocation',
          method: 'PATCH',
          path: `/restate/invocation/${rng.pick([s.reviewId, s.holderId, s.queuedId, s.workflowRun])}/purge`,
          headers: owner,
          refused: true,
        };
        break;
      case 'encoded-path':
        yield {
          label: 'an encoded, traversing or doubled path',
          method: rng.pick(methods),
          path: rng.pick([
            '/%00',
            '/restate/invocation/%00',
            `/restate/invocation/..%2F${s.reviewId}`,
            `/restate/awakeables/..%2F..%2Frestate%2Finvocation%2F${s.reviewId}/resolve`,
            '/greeter/..%2Fgreeter/greet',
            '//greeter//greet',
            '/%2e%2e/%2e%2e/etc/passwd',
            '/restate/workflow/reviewFlow/%00/output',
            `/restate/workflow/reviewFlow/${keys()}/output`,
            '/restate/workflow/greeter/k/output',
            '/%E0%A4%A',
            '/' + encodeURIComponent('ѐ'.repeat(1_000)),
            '/restate/invocation/' + 'x'.repeat(9_000),
          ]),
          headers: auth,
          refused: true,
        };
        break;
      case 'huge':
        yield {
          label: 'a body over API Gateway’s 10 MB',
          method: 'POST',
          path: `/restate/awakeables/${s.awakeableId}/resolve`,
          body: Buffer.alloc(11 * 1024 * 1024, 0x61),
          refused: true,
        };
        break;
    }
  }
}

/** Sends a request with its raw path (no normalization of `..`, `//`, `%00`). */
function fire(plane: LocalPlane, shot: Shot): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: plane.port,
        method: shot.method,
        path: shot.path,
        headers: { ...shot.headers, connection: 'close' },
        timeout: HANG_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }),
        );
        res.on('error', () => resolve({ status: 'no answer', body: '', ms: Date.now() - started }));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ status: 'hang', body: '', ms: Date.now() - started });
    });
    req.on('error', (error) => resolve({ status: 'no answer', body: error.message, ms: Date.now() - started }));
    req.end(shot.body);
  });
}

function check(shot: Shot, answer: Answer, report: FuzzReport): void {
  if (answer.status === 'hang') report.violations.push(`hang over ${HANG_MS} ms: ${describe(shot)}`);
  else if (answer.status === 'no answer') report.violations.push(`no answer (crash?): ${describe(shot)}: ${answer.body}`);
  else if (answer.status >= 500) report.violations.push(`server error ${answer.status}: ${describe(shot)}: ${answer.body.slice(0, 300)}`);
  else if (answer.status >= 400 && shot.method !== 'HEAD') {
    let body: { code?: unknown; message?: unknown } | undefined;
    try {
      body = JSON.parse(answer.body) as typeof body;
    } catch {
      body = undefined;
    }
    if (typeof body?.code !== 'string' || typeof body?.message !== 'string')
      report.violations.push(`refusal without {code, message}: ${describe(shot)} → ${answer.status} ${answer.body.slice(0, 200)}`);
  }
}

/** Racing completions of one awakeable: one distinct completion wins; the rest differ and get 409, or are the same and get 2xx. */
function checkRace(mode: string, racers: Shot[], answers: Answer[], report: FuzzReport): void {
  const outcome = (shot: Shot) => (/reject/.test(shot.path) ? `rejected:${String(shot.body)}` : `resolved:${String(shot.body)}`);
  const accepted = new Set(racers.filter((_, i) => typeof answers[i]!.status === 'number' && answers[i]!.status < 300).map(outcome));
  if (accepted.size !== 1)
    report.violations.push(`[${mode}] race: ${accepted.size} different completions accepted (${[...accepted].join(', ')})`);
  const winner = [...accepted][0];
  racers.forEach((shot, i) => {
    const status = answers[i]!.status;
    const expected = outcome(shot) === winner ? 'a 2xx' : '409 (or 400 for AWS)';
    const ok =
      outcome(shot) === winner
        ? typeof status === 'number' && status < 300
        : status === 409 || (status === 400 && shot.path.startsWith('/2025'));
    if (!ok) report.violations.push(`[${mode}] race: ${shot.label} got ${status}, expected ${expected}`);
  });
}

async function json(plane: LocalPlane, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<any> {
  const answer = await fire(plane, {
    label: 'setup',
    method,
    path,
    body,
    headers: { 'content-type': 'application/json', ...headers },
    refused: false,
  });
  try {
    return JSON.parse(answer.body);
  } catch {
    return undefined;
  }
}

async function tableSnapshot(dynamodb: DynamoDBClient, tableName: string): Promise<string[]> {
  const items: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const plain = unmarshall(item);
      items.push(JSON.stringify(Object.fromEntries(Object.entries(plain).sort(([a], [b]) => a.localeCompare(b)))));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort();
}

/** Waits until nothing runs and the table stays the same for 300 ms; returns that table. */
async function quiet(plane: LocalPlane, snapshot: () => Promise<string[]>): Promise<string[]> {
  let last = await snapshot();
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 300));
    const next = await snapshot();
    if (plane.inflight().length === 0 && next.join('\n') === last.join('\n')) return next;
    last = next;
  }
  throw new Error('the plane did not settle within 30 s');
}

function describe(shot: Shot): string {
  const body = shot.body === undefined ? '' : ` (${Buffer.byteLength(shot.body)}-byte body)`;
  return `${shot.label}: ${shot.method} ${shot.path.length > 120 ? shot.path.slice(0, 120) + '…' : shot.path}${body}`;
}

function diff(before: string[], after: string[]): string {
  const gone = before.filter((i) => !after.includes(i)).map((i) => `- ${i.slice(0, 200)}`);
  const added = after.filter((i) => !before.includes(i)).map((i) => `+ ${i.slice(0, 200)}`);
  return [...gone, ...added].join(' ');
}
