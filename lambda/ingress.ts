/**
 * The ingress Lambda: API Gateway (REST, proxy integration) events in, HTTP
 * answers out. The role is `createIngressHandler` (src/runtime/ingress.ts);
 * this file builds its dependencies from the environment once per cold start
 * (`DORMANT_TABLE_NAME`, `DORMANT_SERVICES`, the signing key, and optionally
 * `DORMANT_INGRESS_WAIT_MS`, `DORMANT_INGRESS_AUTH`, `DORMANT_INGRESS_SERVES`:
 * the same file runs the callback function), `DORMANT_DIRECT_WAKE` with `DORMANT_ROUTES`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { directWakeDispatch } from '../src/runtime/direct-wake.ts';
import { systemClock } from '../src/engine/clock.ts';
import { loadConfig, once, signerFor } from '../src/runtime/config.ts';
import { createIngressHandler } from '../src/runtime/ingress.ts';
import { roleLog } from '../src/runtime/telemetry.ts';
import { DynamoDbStore } from '../src/store/dynamodb.ts';

/**
 * The Lambda entry point.
 *
 * @example
 * ```ts
 * // cdk: new BundledFunction(this, 'Ingress', { entry: 'lambda/ingress.ts' })
 * ```
 */
export const handler = createIngressHandler(
  once(async () => {
    const config = loadConfig('ingress');
    return {
      store: new DynamoDbStore({ client: new DynamoDBClient({}), tableName: config.tableName }),
      signer: await signerFor(config.signing),
      clock: systemClock,
      catalog: config.catalog,
      waitMs: config.ingressWaitMs,
      access: config.ingressAccess,
      log: roleLog('ingress'),
      dispatch: directWakeDispatch(config, () => new LambdaClient({})),
    };
  }),
);
