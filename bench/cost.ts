/**
 * The price of one million runs of the reference workflow (five `ctx.run`
 * steps, one awakeable resolved over HTTPS) from the counts measured on
 * DynamoDB Local, beside the same workflow on Step Functions Standard and on
 * Lambda durable functions. Every price comes from `prices.ts`.
 */
import { COMPLETION_TTL_SECONDS, DEFAULT_JOURNAL_TTL_SECONDS } from '../src/store/dynamodb.ts';
import { JOURNAL_TAIL_MARGIN_SECONDS } from '../src/store/store.ts';
import { LAMBDA_MEMORY_MB, PRICES, cost, type Price } from './prices.ts';
import { ROLES, type RoundTrip } from './units.ts';
import { REFERENCE_STEPS } from './workflows.ts';

/**
 * One line of a bill: what is counted, how many per run, and its price per
 * million runs.
 *
 * @example
 * ```ts
 * { item: 'DynamoDB write request units', perRun: 12, usd: 7.5 }
 * ```
 */
export interface CostLine {
  item: string;
  perRun: number;
  unit: string;
  /** US dollars per million runs. */
  usd: number;
}

/** A bill per million runs. */
export interface Bill {
  total: number;
  lines: CostLine[];
}

/**
 * The three bills and the assumptions behind them.
 */
export interface CostPerMillion {
  dormant: Bill;
  stepFunctionsStandard: Bill;
  lambdaDurableFunctions: Bill;
  assumptions: string[];
}

const MILLION = 1e6;
const GB = LAMBDA_MEMORY_MB / 1024;
const DAYS_PER_MONTH = 30;
/** A finished invocation's `meta` stays readable this long (`AttemptDeps.retentionMs` default). */
const META_RETENTION_DAYS = 1;
/** Lambda durable functions keep a closed execution's history 14 days unless configured otherwise. */
const DURABLE_RETENTION_DAYS = 14;
/** Step Functions Task states of the reference workflow: one per step, and a `waitForTaskToken` task for the awakeable. */
const SFN_TASK_STATES = REFERENCE_STEPS + 1;
/** Step Functions transitions: each state entered, plus the execution's start and end. */
const SFN_TRANSITIONS = SFN_TASK_STATES + 2;
/** Durable operations of the same workflow on Lambda durable functions: the execution start, the steps, the callback. */
const DURABLE_OPERATIONS = 1 + REFERENCE_STEPS + 1;
/** A Lambda billed for trivial work (a Step Functions task running one step body). */
const MIN_BILLED_MS = 1;

/**
 * Prices the reference workflow from a measured round trip of it.
 *
 * @example
 * ```ts
 * const bills = costPerMillion(await measureRoundTrip(db, 'reference', 'run', 5));
 * bills.dormant.total // dollars per million runs
 * ```
 */
export function costPerMillion(trip: RoundTrip): CostPerMillion {
  const line = (item: string, price: Price, perRun: number, unit = price.unit): CostLine => ({
    item,
    perRun,
    unit,
    usd: cost(price, perRun) * MILLION,
  });
  const bill = (lines: CostLine[]): Bill => ({ total: lines.reduce((s, l) => s + l.usd, 0), lines });

  // Dormant: what was measured.
  const lambdaRequests = ROLES.reduce((n, r) => n + trip.roles[r].invocations, 0);
  const billedMs = ROLES.reduce((ms, r) => ms + trip.roles[r].invocations * Math.ceil(trip.roles[r].medianMs), 0);
  // Journal entries live their TTL (the ones after the first 3 days more: all counted at that); the other
  // items of the partition (completions, promises) keep the long expiry of earlier releases.
  const entryDays = (DEFAULT_JOURNAL_TTL_SECONDS + JOURNAL_TAIL_MARGIN_SECONDS) / 86_400;
  const otherBytes = trip.stored.journalBytes - trip.stored.entryBytes;
  const journalGbMonths =
    (trip.stored.entryBytes / 1024 ** 3) * (entryDays / DAYS_PER_MONTH) +
    (otherBytes / 1024 ** 3) * (COMPLETION_TTL_SECONDS / 86_400 / DAYS_PER_MONTH);
  const metaGbMonths = (trip.stored.metaBytes / 1024 ** 3) * (META_RETENTION_DAYS / DAYS_PER_MONTH);
  const dormant = bill([
    line('DynamoDB write request units', PRICES.dynamoWriteRequestUnit, trip.billedWriteUnits),
    line('DynamoDB read request units', PRICES.dynamoReadRequestUnit, trip.billedReadUnits),
    line(
      `DynamoDB storage (journal entries ${entryDays} days, completions ${Math.round(COMPLETION_TTL_SECONDS / 86_400)} days, meta ${META_RETENTION_DAYS} day, by TTL)`,
      PRICES.dynamoStorageGbMonth,
      journalGbMonths + metaGbMonths,
    ),
    line('DynamoDB Streams reads by the wake trigger', PRICES.dynamoStreamsReadForLambda, trip.wakeInvocations),
    // When the first journal entry expires, its removal's record reaches the wake, which reads meta
    // (gone, for a finished run past its retention) and renews nothing: one invocation and one read each.
    line('journal expiry: a wake invocation on the first entry’s TTL removal', PRICES.lambdaRequest, 1),
    line('journal expiry: the wake’s meta read', PRICES.dynamoReadRequestUnit, 1),
    line(
      `Lambda requests (${trip.handlerInvocations} handler, ${trip.wakeInvocations} wake, ${trip.apiRequests} ingress)`,
      PRICES.lambdaRequest,
      lambdaRequests,
    ),
    line(`Lambda duration (${LAMBDA_MEMORY_MB} MB, ${billedMs} ms billed in all)`, PRICES.lambdaGbSecondX86, (billedMs / 1000) * GB),
    line('API Gateway REST requests (start, resolve, one output read)', PRICES.apiGatewayRestRequest, trip.apiRequests),
    line('SQS requests (timers: none in this workflow)', PRICES.sqsStandardRequest, trip.timersScheduled * 3),
  ]);

  const stepFunctionsStandard = bill([
    line(`state transitions (${SFN_TASK_STATES} Task states + start + end)`, PRICES.stepFunctionsStandardTransition, SFN_TRANSITIONS),
    line(`Lambda requests (the ${SFN_TASK_STATES} Task states' functions)`, PRICES.lambdaRequest, SFN_TASK_STATES),
    line(
      `Lambda duration (${SFN_TASK_STATES} × ${MIN_BILLED_MS} ms at ${LAMBDA_MEMORY_MB} MB)`,
      PRICES.lambdaGbSecondX86,
      ((SFN_TASK_STATES * MIN_BILLED_MS) / 1000) * GB,
    ),
    line('API Gateway REST requests (StartExecution, SendTaskSuccess, DescribeExecution)', PRICES.apiGatewayRestRequest, trip.apiRequests),
  ]);

  const attemptMs = Math.ceil(trip.roles['handler attempt'].medianMs);
  const dataGb = trip.stored.journalBytes / 1024 ** 3;
  const lambdaDurableFunctions = bill([
    line(`durable operations (start + ${REFERENCE_STEPS} steps + 1 callback)`, PRICES.lambdaDurableOperation, DURABLE_OPERATIONS),
    line('durable data written (as much as Dormant journals)', PRICES.lambdaDurableDataWritten, dataGb),
    line(
      `durable data retained (${DURABLE_RETENTION_DAYS} days, the default)`,
      PRICES.lambdaDurableDataRetained,
      dataGb * (DURABLE_RETENTION_DAYS / DAYS_PER_MONTH),
    ),
    line('Lambda requests (first run, resume after the callback)', PRICES.lambdaRequest, trip.handlerInvocations),
    line(
      `Lambda duration (${trip.handlerInvocations} × ${attemptMs} ms at ${LAMBDA_MEMORY_MB} MB, as Dormant's attempts)`,
      PRICES.lambdaGbSecondX86,
      ((trip.handlerInvocations * attemptMs) / 1000) * GB,
    ),
    line('API Gateway REST requests (start, callback, result)', PRICES.apiGatewayRestRequest, trip.apiRequests),
  ]);

  return {
    dormant,
    stepFunctionsStandard,
    lambdaDurableFunctions,
    assumptions: [
      "Lambda billed durations are this machine's wall time of each role against DynamoDB Local, rounded up to 1 ms per invocation; no cold starts.",
      'Wake invocations: one per stream record passing the event filter (no batching, as at low traffic); batching lowers them.',
      'DynamoDB units as billed on demand: what DynamoDB Local reported, but at least one unit per request and one read unit per BatchGetItem key.',
      `Step Functions: ${SFN_TRANSITIONS} transitions (${SFN_TASK_STATES} Task states plus start and end); counting states only gives ${SFN_TASK_STATES}. Task Lambdas billed ${MIN_BILLED_MS} ms each.`,
      `Lambda durable functions: ${DURABLE_OPERATIONS} durable operations (start, ${REFERENCE_STEPS} steps, 1 callback); data written and retained at ${PRICES.lambdaDurableDataWritten.usd} $/GB and ${PRICES.lambdaDurableDataRetained.usd} $/GB-month are assumptions (see prices.ts).`,
      'The same three API Gateway requests (start, resolve, one output read) are counted for all three.',
    ],
  };
}
