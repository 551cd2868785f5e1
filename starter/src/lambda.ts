/** The handler Lambda: `cdk/app.ts` deploys this file with `DurableFunction`. */
import { lambdaHandler } from 'dormant-lambda';
import { approval } from './services.ts';

export const handler = lambdaHandler({ services: [approval] });
