/**
 * The ingress Lambda: API Gateway (REST, proxy integration) events in, HTTP
 * answers out. The role is `createIngressHandler` (src/runtime/ingress.ts);
 * this file builds its dependencies from the environment once per cold start
 * (`DORMANT_TABLE_NAME`, `DORMANT_SERVICES`, the signing key, and optionally
 * `DORMANT_INGRESS_WAIT_MS`, `DORMANT_INGRESS_AUTH`, `DORMANT_INGRESS_SERVES`:
 * the same file runs the callback function of a deployed stack).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../src/engine/clock.ts';
import { loadConfig, once, signerFor } from '../src/runtime/config.ts';
import { createIngressHandler } from '../src/runtime/ingress.ts';
import { deployedSecrets } from '../src/runtime/webhooks.ts';
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
      // Webhook verifiers name their secrets: the environment, else Secrets Manager (DORMANT_WEBHOOK_SECRETS).
      secrets: deployedSecrets(process.env, () => new SecretsManagerClient({})),
    };
  }),
);
