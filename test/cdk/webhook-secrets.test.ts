import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { DurableRuntime } from '../../cdk/lib/durable-runtime.ts';
import { SYNTH_HOOK_TIMEOUT_MS, TEST_CONTEXT, logicalId, statements } from './support.ts';

describe('DurableRuntime webhookSecrets', () => {
  it(
    'grants the callback function exactly the named secrets, and tells it which name is which ARN; the ingress gets none',
    () => {
      const stack = new Stack(new App({ context: TEST_CONTEXT }), 'Hooks');
      const twilio = new Secret(stack, 'Twilio');
      new Secret(stack, 'Unrelated');
      new DurableRuntime(stack, 'Runtime', { webhookSecrets: { TWILIO_AUTH_TOKEN: twilio } });
      const template = Template.fromStack(stack);
      const twilioId = logicalId(template, 'AWS::SecretsManager::Secret', 'Twilio');
      const unrelatedId = logicalId(template, 'AWS::SecretsManager::Secret', 'Unrelated');
      const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
        JSON.stringify(f).includes('DORMANT_WEBHOOK_SECRETS'),
      );
      expect(JSON.stringify(fn?.Properties.Environment.Variables.DORMANT_WEBHOOK_SECRETS)).toContain(twilioId);
      expect(fn?.Properties.Environment.Variables.DORMANT_INGRESS_SERVES).toBe('callbacks');
      const role = (fn?.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const secretReads = (id?: string) =>
        statements(template, id).filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
      const callbacksReads = JSON.stringify(secretReads(role));
      expect(callbacksReads).toContain(twilioId);
      expect(callbacksReads).not.toContain(unrelatedId);
      const ingressRole = logicalId(template, 'AWS::IAM::Role', 'RuntimeIngressRole');
      expect(JSON.stringify(secretReads(ingressRole))).not.toContain(twilioId);
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );
});
