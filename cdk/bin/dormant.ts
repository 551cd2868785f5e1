/**
 * Entry of the CDK app (`cdk.json`): `npx cdk synth`, `npx cdk deploy`.
 * With `-c dormant:localstack=true` (as `npm run deploy:local` passes) the
 * awakeables' resolve URLs point at LocalStack's API Gateway host.
 */
import { buildDormantApp } from '../lib/app.ts';

buildDormantApp().app.synth();
