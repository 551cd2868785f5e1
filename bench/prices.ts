/**
 * Every price the benchmark uses, in one table, with the page it comes from.
 * US East (N. Virginia), on-demand, list prices without free tiers. Update
 * the figure and its `checked` date together.
 */

/**
 * One published price.
 *
 * @example
 * ```ts
 * PRICES.dynamoWriteRequestUnit.usd // 0.625 (per million write request units)
 * ```
 */
export interface Price {
  /** US dollars per `per` units of `unit`. */
  usd: number;
  per: number;
  unit: string;
  source: string;
  /** `published`: read on the source page; `assumption`: not confirmed there, see `note`. */
  status: 'published' | 'assumption';
  note?: string;
}

/** When the figures below were last compared with their pages. */
export const PRICES_CHECKED = '2026-11';

const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const API_GATEWAY = 'https://aws.amazon.com/api-gateway/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const STEP_FUNCTIONS = 'https://aws.amazon.com/step-functions/pricing/';

/**
 * The price table.
 *
 * @example
 * ```ts
 * const perRun = units * PRICES.dynamoWriteRequestUnit.usd / PRICES.dynamoWriteRequestUnit.per;
 * ```
 */
export const PRICES = {
  dynamoWriteRequestUnit: { usd: 0.625, per: 1e6, unit: 'write request unit', source: DYNAMODB, status: 'published' },
  dynamoReadRequestUnit: { usd: 0.125, per: 1e6, unit: 'read request unit', source: DYNAMODB, status: 'published' },
  dynamoStorageGbMonth: {
    usd: 0.25,
    per: 1,
    unit: 'GB-month stored (Standard table class, after the free 25 GB)',
    source: DYNAMODB,
    status: 'published',
  },
  dynamoStreamsReadForLambda: {
    usd: 0,
    per: 1e6,
    unit: 'GetRecords request by a Lambda trigger',
    source: DYNAMODB,
    status: 'published',
    note: 'GetRecords calls by Lambda triggers on a DynamoDB stream are free',
  },
  lambdaRequest: { usd: 0.2, per: 1e6, unit: 'request', source: LAMBDA, status: 'published' },
  lambdaGbSecondX86: { usd: 0.0000166667, per: 1, unit: 'GB-second (x86, first tier)', source: LAMBDA, status: 'published' },
  apiGatewayRestRequest: { usd: 3.5, per: 1e6, unit: 'REST API request (first 333 million)', source: API_GATEWAY, status: 'published' },
  sqsStandardRequest: { usd: 0.4, per: 1e6, unit: 'standard queue request (after the free million)', source: SQS, status: 'published' },
  stepFunctionsStandardTransition: {
    usd: 0.025,
    per: 1e3,
    unit: 'state transition (Standard)',
    source: STEP_FUNCTIONS,
    status: 'published',
  },
  lambdaDurableOperation: {
    usd: 8,
    per: 1e6,
    unit: 'durable operation (Lambda durable functions)',
    source: LAMBDA,
    status: 'published',
    note: "$8.00 per million durable operations, as transcribed from the Lambda pricing page's durable functions example; the page renders its rate tables client-side, so the figure was confirmed through a transcription of the page, not the page itself",
  },
  lambdaDurableDataWritten: {
    usd: 0.25,
    per: 1,
    unit: 'GB of durable execution data written',
    source: LAMBDA,
    status: 'assumption',
    note: 'not confirmed on the page by this benchmark; the figure announced with durable functions (December 2025)',
  },
  lambdaDurableDataRetained: {
    usd: 0.15,
    per: 1,
    unit: 'GB-month of durable execution data retained',
    source: LAMBDA,
    status: 'assumption',
    note: 'not confirmed on the page by this benchmark; the figure announced with durable functions (December 2025)',
  },
} as const satisfies Record<string, Price>;

/** Memory of every Lambda function in the cost model, MB. */
export const LAMBDA_MEMORY_MB = 128;

/** Dollars for `quantity` units of a price. @example cost(PRICES.lambdaRequest, 9) // 0.0000018 */
export function cost(price: Price, quantity: number): number {
  return (price.usd / price.per) * quantity;
}
