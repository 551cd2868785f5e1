/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`): a Dormant runtime (the
 * table, the API, the wake and timer functions) and your handler Lambda
 * registered on it.
 */
import { App, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { DurableFunction, DurableRuntime } from 'dormant-lambda/cdk';
import { approval } from '../src/services.ts';

const app = new App();
const stack = new Stack(app, 'Approvals');
// DESTROY suits a trial; keep the default (RETAIN) for data you care about.
const runtime = new DurableRuntime(stack, 'Runtime', { removalPolicy: RemovalPolicy.DESTROY });
new DurableFunction(stack, 'Handlers', { runtime, entry: 'src/lambda.ts', services: [approval] });
new CfnOutput(stack, 'ApiUrl', { value: runtime.apiUrl });
app.synth();
