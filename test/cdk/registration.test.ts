import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiBaseUrl } from '../../cdk/lib/api-base-url.ts';
import { DurableFunction } from '../../cdk/lib/durable-function.ts';
import { DurableRuntime, type DurableRuntimeProps } from '../../cdk/lib/durable-runtime.ts';
import { handlers as wrap, object, service } from '../../src/api/definitions.ts';
import { SYNTH_HOOK_TIMEOUT_MS, TEST_CONTEXT } from './support.ts';

function runtimeStack(props: DurableRuntimeProps = {}) {
  const stack = new Stack(new App({ context: TEST_CONTEXT }), 'Test');
  const runtime = new DurableRuntime(stack, 'Runtime', props);
  const plain = (id: string) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => ({})'),
    });
  return { stack, runtime, plain };
}

const env = (template: Template, fnPrefix: string): Record<string, unknown> => {
  const fns = template.findResources('AWS::Lambda::Function');
  const id = Object.keys(fns).find((k) => k.startsWith(fnPrefix))!;
  return fns[id]!.Properties.Environment.Variables;
};

beforeAll(() => {
  // Load aws-cdk-lib's lazy modules and validation rules once, outside the tests' time limits.
  Template.fromStack(runtimeStack().stack);
}, SYNTH_HOOK_TIMEOUT_MS);

describe('DurableRuntime.addService', () => {
  it('routes each service to its function, sorted, without a dependency cycle between handlers', () => {
    const { stack, runtime, plain } = runtimeStack();
    const cart = plain('Cart');
    const greeter = plain('Greeter');
    runtime.addService(greeter, { services: ['greeter'] });
    runtime.addService(cart, { services: ['cart', 'checkout'] });

    // Synthesis refuses a dependency cycle (e.g. a handler's environment
    // naming another handler): see the control below.
    const template = Template.fromStack(stack);
    // Each route names the function's live alias (new work; a pinned invocation goes to its version).
    const cartId = Object.keys(template.findResources('AWS::Lambda::Alias')).find((k) => k.startsWith('Cart'))!;
    const greeterId = Object.keys(template.findResources('AWS::Lambda::Alias')).find((k) => k.startsWith('Greeter'))!;
    expect(env(template, 'RuntimeWake').DORMANT_ROUTES).toEqual({
      'Fn::Join': ['', ['{"cart":"', { Ref: cartId }, '","checkout":"', { Ref: cartId }, '","greeter":"', { Ref: greeterId }, '"}']],
    });
    expect(env(template, 'Cart').DORMANT_TABLE_NAME).toBeDefined();
    expect(env(template, 'Cart').DORMANT_ROUTES).toBeUndefined();
    // $LATEST, the alias and the current version of each of the two functions.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 6);
  });

  it('by default (the direct wake), lets the ingress and the callback function invoke exactly the registered handlers, without a dependency cycle', () => {
    // Prepare: two handler functions, each calling the other's services by name
    const { stack, runtime, plain } = runtimeStack();
    const cart = plain('Cart');
    const greeter = plain('Greeter');
    runtime.addService(greeter, { services: ['greeter'] });
    runtime.addService(cart, { services: ['cart', 'checkout'] });

    // Act: synthesis refuses a dependency cycle
    const template = Template.fromStack(stack);

    // Assess
    const fnId = (prefix: string) => Object.keys(template.findResources('AWS::Lambda::Function')).find((k) => k.startsWith(prefix))!;
    const roleId = (prefix: string) => Object.keys(template.findResources('AWS::IAM::Role')).find((k) => k.startsWith(prefix))!;
    const invoked = (role: string) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${role}"`))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')))
        .flatMap((s) => [s.Resource].flat().map((resource) => `${String(s.Action)} ${JSON.stringify(resource)}`))
        .sort();
    // Each function and its qualified ARNs (the alias, pinned versions), as the wake has them.
    const expected = invoked(roleId('RuntimeWakeRole'));
    for (const id of [fnId('Greeter'), fnId('Cart')])
      expect(expected).toContain(`lambda:InvokeFunction ${JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })}`);
    for (const role of ['RuntimeIngressRole', 'RuntimeCallbacksRole', 'RuntimeTimerRole'])
      expect(invoked(roleId(role)), role).toEqual(expected);
    expect(env(template, 'RuntimeIngress').DORMANT_DIRECT_WAKE).toBe('true');
    // The handlers themselves keep the stream path: no invoke of each other, so no cycle between them.
    expect(invoked(roleId('Cart'))).toEqual([]);
    expect(invoked(roleId('Greeter'))).toEqual([]);
    expect(env(template, 'RuntimeCallbacks').DORMANT_ROUTES).toEqual(env(template, 'RuntimeWake').DORMANT_ROUTES);
  });

  it('with directWake: false, grants the ingress and the callback function no invoke and tells them so', () => {
    const { stack, runtime, plain } = runtimeStack({ directWake: false });
    runtime.addService(plain('Greeter'), { services: ['greeter'] });
    const template = Template.fromStack(stack);
    const roleId = (prefix: string) => Object.keys(template.findResources('AWS::IAM::Role')).find((k) => k.startsWith(prefix))!;
    for (const role of ['RuntimeIngressRole', 'RuntimeCallbacksRole']) {
      const lambdaActions = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId(role)}"`))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        .flatMap((s) => [s.Action].flat())
        .filter((a) => a.startsWith('lambda:'));
      expect(lambdaActions, role).toEqual([]);
    }
    expect(env(template, 'RuntimeIngress').DORMANT_DIRECT_WAKE).toBe('false');
    expect(env(template, 'RuntimeCallbacks').DORMANT_DIRECT_WAKE).toBe('false');
  });

  it('registers a function once when it is added again with more services', () => {
    const { stack, runtime, plain } = runtimeStack();
    const fn = plain('Shop');
    runtime.addService(fn, { services: ['cart'] });
    runtime.addService(fn, { services: ['checkout'] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 3);
    template.resourceCountIs('AWS::Lambda::Alias', 1);
    expect(JSON.stringify(env(template, 'RuntimeTimer').DORMANT_ROUTES)).toContain('checkout');
  });

  it('refuses a service claimed by two functions, bad names, no names and imported functions', () => {
    const { stack, runtime, plain } = runtimeStack();
    runtime.addService(plain('A'), { services: ['cart'] });
    expect(() => runtime.addService(plain('B'), { services: ['cart'] })).toThrow(/already served by/);
    expect(() => runtime.addService(plain('C'), { services: ['a/b'] })).toThrow(/must match/);
    expect(() => runtime.addService(plain('D'), { services: ['a#b'] })).toThrow(/must match/);
    expect(() => runtime.addService(plain('E'), { services: [] })).toThrow(/at least one/);
    const imported = LambdaFunction.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:123456789012:function:x');
    expect(() => runtime.addService(imported, { services: ['other'] })).toThrow(/lambda.Function/);
  });
});

describe('the ingress catalog (DORMANT_SERVICES)', () => {
  const cart = object({ name: 'cart', handlers: { add: async () => 1, total: wrap.object.shared(async () => 2) } });
  const greeter = service({ name: 'greeter', handlers: { greet: async () => 'hi' } });

  it('describes registered definitions, sorted, on the ingress only', () => {
    const { stack, runtime, plain } = runtimeStack();
    runtime.addService(plain('Shop'), { services: [greeter, cart] });
    const template = Template.fromStack(stack);
    const catalog = JSON.parse(env(template, 'RuntimeIngress').DORMANT_SERVICES as string);
    expect(Object.keys(catalog)).toEqual(['cart', 'greeter']);
    expect(catalog.cart).toEqual({ kind: 'object', handlers: { add: { shared: false, json: true }, total: { shared: true, json: true } } });
    expect(env(template, 'RuntimeWake').DORMANT_SERVICES).toBeUndefined();
  });

  it('warns about a service registered by name only, unless a catalog entry is given', () => {
    const { stack, runtime, plain } = runtimeStack();
    runtime.addService(plain('Hidden'), { services: ['internal'] });
    runtime.addService(plain('Named'), {
      services: ['named'],
      catalog: { named: { kind: 'service', handlers: { go: { shared: false, json: true } } } },
    });
    const template = Template.fromStack(stack);
    expect(Object.keys(JSON.parse(env(template, 'RuntimeIngress').DORMANT_SERVICES as string))).toEqual(['named']);
    expect(JSON.stringify(env(template, 'RuntimeWake').DORMANT_ROUTES)).toContain('internal');
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp("service 'internal' is registered by name only"));
    expect(warnings.map((w) => w.id)).toEqual(['/Test/Hidden']);
  });

  it('fails synthesis on a dependency cycle (control: cdk.json turns on CloudFormation validation)', () => {
    const { stack, runtime, plain } = runtimeStack();
    const a = plain('A');
    const b = plain('B');
    runtime.addService(a, { services: [greeter] });
    a.addEnvironment('OTHER', b.functionName);
    b.addEnvironment('OTHER', a.functionName);
    expect(() => Template.fromStack(stack)).toThrow(/Circular dependency/);
  });

  it('refuses a catalog too big for the environment', () => {
    const { stack, runtime, plain } = runtimeStack();
    const handlers = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`handler_number_${i}`, async () => i]));
    runtime.addService(plain('Big'), { services: [service({ name: 'big', handlers })] });
    expect(() => Template.fromStack(stack)).toThrow(/DORMANT_SERVICES would be \d+ characters/);
  });
});

describe('DurableFunction', () => {
  it('has a role with no managed policy, writing only to its own log group', () => {
    const { stack, runtime } = runtimeStack();
    new DurableFunction(stack, 'Greeter', { runtime, entry: 'examples/lambda.ts', services: ['greeter'] });
    const template = Template.fromStack(stack);
    const roles = template.findResources('AWS::IAM::Role');
    const withManaged = Object.keys(roles).filter((id) => roles[id]!.Properties.ManagedPolicyArns);
    // Only API Gateway's account-level CloudWatch role uses a managed policy.
    expect(withManaged).toEqual([expect.stringMatching(/^RuntimeApiCloudWatchRole/)]);
    const logStatements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('GreeterRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string | string[] }) => JSON.stringify(s.Action).includes('logs:'));
    expect(logStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^GreeterLogs/), 'Arn'] },
      },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Timeout: 300, Architectures: ['arm64'] });
  });
});

describe('ApiBaseUrl', () => {
  it('spells LocalStack and custom URLs, and the retention in hours', () => {
    const local = runtimeStack({ apiBaseUrl: ApiBaseUrl.localStack(), retention: undefined });
    const localUrl = JSON.stringify(env(Template.fromStack(local.stack), 'RuntimeIngress').DORMANT_API_URL);
    expect(localUrl).toContain('.execute-api.localhost.localstack.cloud:4566/');
    expect(localUrl).toContain('"http://"');

    const custom = runtimeStack({ apiBaseUrl: ApiBaseUrl.custom('https://hooks.example.com/'), stageName: 'v1' });
    const vars = env(Template.fromStack(custom.stack), 'RuntimeIngress');
    expect(vars.DORMANT_API_URL).toBe('https://hooks.example.com');
    expect(custom.runtime.resolveUrlTemplate).toBe('https://hooks.example.com/restate/awakeables/{id}/resolve');
  });
});
