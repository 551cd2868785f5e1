/**
 * DESIGN rule 9 on the synthesized template: the invocation routes are
 * authorized by default (IAM), in the mode the app chose (API key, a
 * Cognito or Lambda authorizer), or open only when the app wrote `'none'`,
 * which cdk-nag then reports; the callback routes are open in every mode,
 * on their own resources and function, with their own throttle. Also the
 * data owner's controls: a customer managed key for the table, queues and
 * secret, and the reserved concurrency props.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { CognitoUserPoolsAuthorizer, Method, TokenAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import cdkNag from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { DurableFunction } from '../../cdk/lib/durable-function.ts';
import { DurableRuntime, type DurableRuntimeProps } from '../../cdk/lib/durable-runtime.ts';
import { EXAMPLE_SERVICES } from '../../cdk/lib/example-stack.ts';
import { IngressAuth } from '../../cdk/lib/ingress-auth.ts';
import { SYNTH_HOOK_TIMEOUT_MS, TEST_CONTEXT, logicalId, statements, synthExampleApp } from './support.ts';

const { AwsSolutionsChecks } = cdkNag;

/** A runtime with the example handlers in a stack of its own, with `props` and whatever `extra` adds to the stack. */
function synth(props: (stack: Stack) => DurableRuntimeProps) {
  const app = new App({ context: TEST_CONTEXT });
  const stack = new Stack(app, 'Auth');
  const runtime = new DurableRuntime(stack, 'Runtime', props(stack));
  new DurableFunction(stack, 'Examples', { runtime, entry: 'examples/lambda.ts', services: EXAMPLE_SERVICES });
  const template = Template.fromStack(stack);
  const findings = new AwsSolutionsChecks(app)
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
  return { app, stack, runtime, template, findings };
}

/** Each API method: the path of its resource, its authorization, and which function it calls. */
function methods(template: Template) {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const api = logicalId(template, 'AWS::ApiGateway::RestApi', 'RuntimeApi');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id) return '';
    const r = resources[id]!.Properties;
    const parent = JSON.stringify(r.ParentId) === JSON.stringify({ 'Fn::GetAtt': [api, 'RootResourceId'] }) ? '' : pathOf(r.ParentId);
    return `${parent}/${r.PathPart}`;
  };
  const callbacks = logicalId(template, 'AWS::Lambda::Function', 'RuntimeCallbacks');
  return Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => ({
    path: pathOf(m.Properties.ResourceId) || '/',
    method: m.Properties.HttpMethod as string,
    authorization: m.Properties.AuthorizationType as string,
    apiKeyRequired: m.Properties.ApiKeyRequired as boolean | undefined,
    fn: JSON.stringify(m.Properties.Integration.Uri).includes(`"${callbacks}"`) ? 'callbacks' : 'ingress',
  }));
}

const CALLBACK_PATHS = [
  '/restate/awakeables',
  '/restate/awakeables/{proxy+}',
  '/restate/a',
  '/restate/a/{proxy+}',
  '/restate/webhooks',
  '/restate/webhooks/{proxy+}',
  '/2025-12-01',
  '/2025-12-01/{proxy+}',
  '/webhooks',
  '/webhooks/{proxy+}',
];
const INVOCATION_PATHS = ['/', '/{proxy+}', '/restate', '/restate/{proxy+}'];

describe('the example app, by default (IAM)', () => {
  let template: Template;
  let app: App;

  beforeAll(() => {
    ({ template, app } = synthExampleApp());
  }, SYNTH_HOOK_TIMEOUT_MS);

  it(
    'has no unauthenticated invocation method: every one is AWS_IAM on the ingress; callback methods are open, on the callback function',
    () => {
      const all = methods(template);
      expect(all.map((m) => m.path).sort()).toEqual([...INVOCATION_PATHS, ...CALLBACK_PATHS].sort());
      for (const m of all) {
        expect(m.method, m.path).toBe('ANY');
        if (CALLBACK_PATHS.includes(m.path)) expect([m.path, m.authorization, m.fn]).toEqual([m.path, 'NONE', 'callbacks']);
        else expect([m.path, m.authorization, m.fn]).toEqual([m.path, 'AWS_IAM', 'ingress']);
      }
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );

  it("acknowledges cdk-nag's authorization finding (APIG4) on callback methods only, never on an invocation method or the API", () => {
    const acknowledged = (path: string) =>
      app.node
        .findAll()
        .filter((c) => c.node.path.startsWith(path))
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.keys(m.data as Record<string, string>).map((id) => id.replace(/^annotation::/i, '')));
    const api = app.node.findAll().find((c) => c.node.path.endsWith('/Runtime/Api'))!;
    const apiMethods = api.node.findAll().filter((c): c is Method => c instanceof Method);
    expect(apiMethods).toHaveLength(14);
    for (const method of apiMethods) {
      const callback = CALLBACK_PATHS.includes(method.resource.path);
      expect(acknowledged(method.node.path).includes('AwsSolutions-APIG4'), method.resource.path).toBe(callback);
    }
    const onApi = api.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data));
    expect(onApi).not.toContain('AwsSolutions-APIG4');
    expect(onApi).not.toContain('AwsSolutions-COG4');
  });

  it('tells each function which routes it serves and how its callers were authorized; throttles each callback method on its own', () => {
    const env = (prefix: string) =>
      template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.Environment.Variables;
    expect(env('RuntimeIngress')).toMatchObject({ DORMANT_INGRESS_SERVES: 'invocations', DORMANT_INGRESS_AUTH: 'iam' });
    expect(env('RuntimeCallbacks')).toMatchObject({ DORMANT_INGRESS_SERVES: 'callbacks', DORMANT_INGRESS_AUTH: 'iam' });
    const settings = template.findResources('AWS::ApiGateway::Stage');
    const methodSettings = Object.values(settings)[0]!.Properties.MethodSettings as { ResourcePath: string; HttpMethod: string }[];
    const throttled = methodSettings.map((s) => s.ResourcePath).filter((p) => p !== '/*');
    expect(throttled.sort()).toEqual(CALLBACK_PATHS.map((p) => `/${p.replace(/\//g, '~1')}`).sort());
    // API Gateway's own refusals in Dormant's shape.
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseTemplates: { 'application/json': '{"code":"$context.error.responseType","message":$context.error.messageString}' },
    });
    // Off by default (a new account's quota is 10).
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')))
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('other modes', () => {
  it(
    "'none' leaves invocation methods open, and cdk-nag reports each of them (APIG4, COG4) and nothing else",
    () => {
      const { template, findings, app } = synth(() => ({ ingressAuth: 'none' }));
      for (const m of methods(template)) expect([m.path, m.authorization]).toEqual([m.path, 'NONE']);
      const open = findings.filter((f) => /APIG4|COG4/.test(f));
      expect(open).toHaveLength(2 * INVOCATION_PATHS.length);
      expect(open.every((f) => !/awakeables|\/a\/|webhooks|2025-12-01/.test(f))).toBe(true);
      expect(findings.filter((f) => !/APIG4|COG4/.test(f))).toEqual([]);
      expect(JSON.stringify(app.synth().getStackByName('Auth').messages)).toContain('dormant:ingress-open');
      const env =
        template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', 'RuntimeIngress')].Properties.Environment.Variables;
      expect(env.DORMANT_INGRESS_AUTH).toBe('none');
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );

  it('an API key: invocation methods require it, with a key and a usage plan on the stage; callbacks do not; cdk-nag clean', () => {
    const { template, findings, runtime } = synth(() => ({
      ingressAuth: IngressAuth.apiKey({ usagePlan: { throttle: { rateLimit: 10, burstLimit: 20 } } }),
    }));
    for (const m of methods(template)) {
      expect([m.path, m.apiKeyRequired === true]).toEqual([m.path, INVOCATION_PATHS.includes(m.path)]);
    }
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 10, BurstLimit: 20 } });
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    expect(runtime.apiKey).toBeDefined();
    expect(findings).toEqual([]);
  });

  it('a Cognito user pool authorizer on invocation methods (COG4 satisfied), or a Lambda authorizer; callbacks open; cdk-nag clean', () => {
    const cognito = synth((stack) => {
      const pool = new UserPool(stack, 'Users', {
        passwordPolicy: { minLength: 12, requireSymbols: true },
        advancedSecurityMode: undefined,
      });
      return { ingressAuth: IngressAuth.authorizer(new CognitoUserPoolsAuthorizer(stack, 'Authorizer', { cognitoUserPools: [pool] })) };
    });
    for (const m of methods(cognito.template))
      expect([m.path, m.authorization]).toEqual([m.path, INVOCATION_PATHS.includes(m.path) ? 'COGNITO_USER_POOLS' : 'NONE']);
    expect(cognito.findings.filter((f) => /Runtime\/Api/.test(f))).toEqual([]);

    const lambda = synth((stack) => {
      const check = new LambdaFunction(stack, 'Check', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler=async()=>({})'),
      });
      return {
        ingressAuth: IngressAuth.authorizer(new TokenAuthorizer(stack, 'Token', { handler: check, resultsCacheTtl: Duration.minutes(5) })),
      };
    });
    for (const m of methods(lambda.template))
      expect([m.path, m.authorization]).toEqual([m.path, INVOCATION_PATHS.includes(m.path) ? 'CUSTOM' : 'NONE']);
    expect(lambda.findings.filter((f) => /Runtime\/Api/.test(f))).toEqual([]);
  });

  it('grantInvoke gives a principal execute-api:Invoke on the stage', () => {
    const app = new App({ context: TEST_CONTEXT });
    const stack = new Stack(app, 'Grant');
    const runtime = new DurableRuntime(stack, 'Runtime');
    const role = new Role(stack, 'Backend', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    runtime.grantInvoke(role);
    const template = Template.fromStack(stack);
    const granted = statements(template, logicalId(template, 'AWS::IAM::Role', 'Backend'));
    expect(granted).toContainEqual(expect.objectContaining({ Action: 'execute-api:Invoke', Effect: 'Allow' }));
    expect(JSON.stringify(granted)).toMatch(/\/\*\/\*"\]\]\}/);
  });
});

describe("data owners' controls", () => {
  it('encrypts the table, every queue and the signing secret with the given key, and lets every function use it', () => {
    const { template, findings } = synth((stack) => ({ encryptionKey: new Key(stack, 'DataKey', { enableKeyRotation: true }) }));
    const key = logicalId(template, 'AWS::KMS::Key', 'DataKey');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } },
    });
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(4);
    for (const queue of queues) expect(queue.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    for (const role of ['RuntimeIngressRole', 'RuntimeCallbacksRole', 'RuntimeWakeRole', 'RuntimeTimerRole', 'ExamplesRole']) {
      const granted = statements(template, logicalId(template, 'AWS::IAM::Role', role));
      expect(
        granted.some((s) => JSON.stringify(s.Action).includes('kms:Decrypt') && JSON.stringify(s.Resource).includes(key)),
        role,
      ).toBe(true);
    }
    expect(findings).toEqual([]);
  });

  it('reserves concurrency for the ingress and the callback function when asked', () => {
    const { template } = synth(() => ({ ingressReservedConcurrency: 50, callbackReservedConcurrency: 20 }));
    const fn = (prefix: string) => template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties;
    expect(fn('RuntimeIngress').ReservedConcurrentExecutions).toBe(50);
    expect(fn('RuntimeCallbacks').ReservedConcurrentExecutions).toBe(20);
  });
});
