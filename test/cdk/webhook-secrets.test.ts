import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { DurableRuntime } from '../../cdk/lib/durable-runtime.ts';
import { github, stripe } from '../../src/index.ts';
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

  it(
    'webhooks: the checked endpoints reach the ingress and callback functions, /webhooks/{name} is an open callback resource, a bad declaration fails the synth',
    () => {
      const stack = new Stack(new App({ context: TEST_CONTEXT }), 'Endpoints');
      new DurableRuntime(stack, 'Runtime', {
        webhooks: {
          stripe: { verify: stripe({ secret: 'STRIPE_WEBHOOK_SECRET' }), correlate: ['body.data.object.id'] },
          github: { verify: github({ secret: 'GITHUB_WEBHOOK_SECRET' }), correlate: ['body.check_run.head_sha'], lookback: { hours: 2 } },
        },
      });
      const template = Template.fromStack(stack);
      const carrying = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
        JSON.stringify(f).includes('DORMANT_WEBHOOK_ENDPOINTS'),
      );
      expect(carrying.map((f) => f.Properties.Environment.Variables.DORMANT_INGRESS_SERVES).sort()).toEqual(['callbacks', 'invocations']);
      const endpoints = JSON.parse(carrying[0]!.Properties.Environment.Variables.DORMANT_WEBHOOK_ENDPOINTS as string);
      expect(endpoints.github).toEqual({
        verify: { provider: 'github', secret: 'GITHUB_WEBHOOK_SECRET' },
        correlate: ['body.check_run.head_sha'],
        lookbackMs: 7_200_000,
      });
      expect(endpoints.stripe.lookbackMs).toBe(86_400_000);
      // Bodies reach the ingress byte for byte (base64), so signatures over non-UTF-8 bodies verify.
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
      const resources = template.findResources('AWS::ApiGateway::Resource');
      const webhooks = Object.entries(resources).find(
        ([, r]) => r.Properties.PathPart === 'webhooks' && JSON.stringify(r.Properties.ParentId).includes('RootResourceId'),
      );
      expect(webhooks).toBeDefined();
      const proxy = Object.entries(resources).find(
        ([, r]) => r.Properties.PathPart === '{proxy+}' && JSON.stringify(r.Properties.ParentId).includes(webhooks![0]),
      );
      const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter((m) =>
        JSON.stringify(m.Properties.ResourceId).includes(proxy![0]),
      );
      expect(methods.map((m) => m.Properties.AuthorizationType)).toEqual(['NONE']);

      const bad = new Stack(new App({ context: TEST_CONTEXT }), 'BadEndpoints');
      expect(
        () =>
          new DurableRuntime(bad, 'Runtime', { webhooks: { stripe: { verify: stripe({ secret: 'S' }), correlate: ['data.object.id'] } } }),
      ).toThrow(/webhooks.stripe: correlate must list the event paths/);
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );
});
