/**
 * The ingress Lambda (and the callback function): API Gateway events in,
 * HTTP answers out. The role is `createIngressHandler`; this file builds its
 * dependencies from the environment once per cold start (src/runtime/config.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { directWakeDispatch } from '../src/runtime/direct-wake.ts';
import { systemClock } from '../src/engine/clock.ts';
import { loadConfig, once, signerFor } from '../src/runtime/config.ts';
import { createIngressHandler } from '../src/runtime/ingress.ts';
import { roleLog } from '../src/runtime/telemetry.ts';
import { withRequestLog } from '../src/runtime/role-logs.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { deployedSecrets } from '../src/runtime/webhooks.ts';
import { endpointsFromEnvironment } from '../src/runtime/endpoints.ts';
import { DynamoDbStore } from '../src/store/dynamodb.ts';

/**
 * The Lambda entry point. @example new BundledFunction(this, 'Ingress', { entry: 'lambda/ingress.ts' })
 */
export const handler = withRequestLog(
  createIngressHandler(
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
        secrets: deployedSecrets(process.env, () => new SecretsManagerClient({})),
        endpoints: endpointsFromEnvironment(process.env),
      };
    }),
  ),
  new Logger({ serviceName: 'dormant-ingress' }),
);
