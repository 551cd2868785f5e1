import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICES } from '../../cdk/lib/example-stack.ts';
import { matchesFilter } from '../../src/local/event-filter.ts';
import { catalogOf } from '../../src/runtime/registry.ts';
import { MAX_PARK_SECONDS, MAX_PARKS, TIMER_MESSAGE_MAX_AGE_MS, LONG_TIMER_QUEUE_MAX_RECEIVES } from '../../src/runtime/dispatch.ts';
import { SYNTH_HOOK_TIMEOUT_MS, actions, allows, logicalId, statements, synthExampleApp } from './support.ts';

/** What every role may do to table items: the requests the DynamoDB store makes, and nothing else. */
const ITEM_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];

const streamRecord = (sk: string, eventName = 'INSERT', status?: string, attributes: Record<string, unknown> = {}) => ({
  eventName,
  dynamodb: {
    Keys: { pk: { S: 'I#inv_1' }, sk: { S: sk } },
    ...(eventName === 'REMOVE'
      ? {}
      : { NewImage: { pk: { S: 'I#inv_1' }, sk: { S: sk }, ...(status ? { status: { S: status } } : {}), ...attributes } }),
  },
});
const LOCK_SCOPE = { lockScope: { S: 'O#cart#k' } };
const CALLERS = { callers: { L: [{ M: { invocationId: { S: 'inv_2' }, key: { S: 'C#00000001' } } }] } };

let template: Template;
let ids: Record<
  | 'table'
  | 'ingress'
  | 'wake'
  | 'timer'
  | 'examples'
  | 'examplesAlias'
  | 'examplesVersion'
  | 'timerQueue'
  | 'longTimerQueue'
  | 'recoveryQueue'
  | 'dlq'
  | 'api'
  | 'secret',
  string
>;
let roles: Record<'ingress' | 'callbacks' | 'wake' | 'timer' | 'examples', string>;

beforeAll(() => {
  // Prepare: one synthesis shared by every assertion in this file.
  template = synthExampleApp().template;
  const fn = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
  const queue = (prefix: string) => logicalId(template, 'AWS::SQS::Queue', prefix);
  const role = (prefix: string) => logicalId(template, 'AWS::IAM::Role', prefix);
  ids = {
    table: logicalId(template, 'AWS::DynamoDB::Table', 'RuntimeTable'),
    ingress: fn('RuntimeIngress'),
    wake: fn('RuntimeWake'),
    timer: fn('RuntimeTimer'),
    examples: fn('Examples'),
    examplesAlias: logicalId(template, 'AWS::Lambda::Alias', 'ExamplesDormantLiveAlias'),
    examplesVersion: logicalId(template, 'AWS::Lambda::Version', 'ExamplesCurrentVersion'),
    timerQueue: queue('RuntimeTimerQueue'),
    longTimerQueue: queue('RuntimeLongTimerQueue'),
    recoveryQueue: queue('RuntimeRecoveryQueue'),
    dlq: queue('RuntimeDeadLetterQueue'),
    api: logicalId(template, 'AWS::ApiGateway::RestApi', 'RuntimeApi'),
    secret: logicalId(template, 'AWS::SecretsManager::Secret', 'RuntimeSigningSecret'),
  };
  roles = {
    ingress: role('RuntimeIngressRole'),
    callbacks: role('RuntimeCallbacksRole'),
    wake: role('RuntimeWakeRole'),
    timer: role('RuntimeTimerRole'),
    examples: role('ExamplesRole'),
  };
}, SYNTH_HOOK_TIMEOUT_MS);

describe('table', () => {
  it('has pk/sk string keys, on-demand billing, a NEW_AND_OLD_IMAGES stream, TTL on ttl and PITR', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe('wake: stream event source mapping', () => {
  it('bisects, reports batch item failures, retries a bounded number of times and sends the rest to the recovery queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ids.table, 'StreamArn'] },
      FunctionName: { Ref: ids.wake },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.recoveryQueue, 'Arn'] } } },
    });
  });

  it('lets through only records that can wake an invocation: never journal entries (but the first one’s removal), other removals, an acquire or a finish with nothing to hand on', () => {
    const mapping = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: ids.wake } } }),
    );
    expect(mapping).toHaveLength(1);
    const patterns = (mapping[0]!.Properties.FilterCriteria.Filters as { Pattern: string }[]).map(
      (f) => JSON.parse(f.Pattern) as Record<string, unknown>,
    );
    // Lambda's default quota of filters per event source mapping.
    expect(patterns.length).toBeLessThanOrEqual(5);
    const passes = (record: unknown) => patterns.some((pattern) => matchesFilter(pattern, record));

    const wakes = [
      streamRecord('meta', 'INSERT', 'pending'),
      streamRecord('meta', 'MODIFY', 'suspended'),
      streamRecord('meta', 'MODIFY', 'completed', LOCK_SCOPE), // hands on its object key
      streamRecord('meta', 'MODIFY', 'failed', LOCK_SCOPE),
      streamRecord('meta', 'MODIFY', 'completed', CALLERS), // answers its callers
      streamRecord('meta', 'MODIFY', 'failed', { ...LOCK_SCOPE, ...CALLERS }),
      streamRecord('meta', 'MODIFY', 'cancelled'), // a status added later still passes
      streamRecord('C#00000003'),
      streamRecord('C#r00000001'),
      streamRecord('C#lock'),
      streamRecord('P#review'),
      streamRecord('L#lock'),
      streamRecord('L#lock', 'MODIFY'),
      streamRecord('Q#00000001'),
      // DynamoDB's TTL removing a journal's first entry: the wake renews it if its invocation still needs it.
      streamRecord('J#00000000', 'REMOVE'),
    ];
    for (const record of wakes) expect(passes(record), JSON.stringify(record)).toBe(true);

    const dropped = [
      streamRecord('J#00000000'),
      streamRecord('J#00000042', 'MODIFY'),
      streamRecord('meta', 'MODIFY', 'running'),
      streamRecord('meta', 'MODIFY', 'running', { ...LOCK_SCOPE, ...CALLERS }),
      streamRecord('meta', 'MODIFY', 'completed'), // nothing to hand on: the wake would do nothing
      streamRecord('meta', 'MODIFY', 'failed', { callers: { L: [] } }),
      streamRecord('meta', 'REMOVE'),
      streamRecord('C#00000003', 'MODIFY'),
      streamRecord('C#00000003', 'REMOVE'),
      streamRecord('J#00000001', 'REMOVE'),
      streamRecord('S#total'),
      streamRecord('metadata-not-meta', 'INSERT', 'pending'),
    ];
    for (const record of dropped) expect(passes(record), JSON.stringify(record)).toBe(false);
  });

  it('may invoke the handler function, schedule timers, and read and write items (locks)', () => {
    const wake = statements(template, roles.wake);
    expect(allows(wake, 'lambda:InvokeFunction', { 'Fn::GetAtt': [ids.examples, 'Arn'] })).toBe(true);
    expect(allows(wake, 'sqs:SendMessage', { 'Fn::GetAtt': [ids.timerQueue, 'Arn'] })).toBe(true);
    const tableActions = actions(wake).filter((a) => a.startsWith('dynamodb:') && !/Stream|GetRecords|GetShardIterator/.test(a));
    expect(tableActions.sort()).toEqual(ITEM_ACTIONS);
  });
});

describe('timer', () => {
  it('consumes the timer, long-timer and recovery queues with batch item failures', () => {
    for (const queue of [ids.timerQueue, ids.longTimerQueue, ids.recoveryQueue]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionName: { Ref: ids.timer },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('puts its queues behind the dead-letter queue, with a visibility timeout above the timer timeout', () => {
    const timerTimeout = template.toJSON().Resources[ids.timer].Properties.Timeout as number;
    for (const [queue, maxReceiveCount] of [
      [ids.timerQueue, 5],
      [ids.longTimerQueue, LONG_TIMER_QUEUE_MAX_RECEIVES],
      [ids.recoveryQueue, 5],
    ] as const) {
      const props = template.toJSON().Resources[queue].Properties;
      expect(props.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] }, maxReceiveCount });
      expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(timerTimeout);
    }
  });

  it('keeps long timers long enough to park them (14 days, more receives than parks), and dead-lettered ones 10 days', () => {
    const props = template.toJSON().Resources[ids.longTimerQueue].Properties;
    expect(props.MessageRetentionPeriod * 1000).toBeGreaterThan(TIMER_MESSAGE_MAX_AGE_MS + MAX_PARK_SECONDS * 1000);
    expect(LONG_TIMER_QUEUE_MAX_RECEIVES).toBeGreaterThan(MAX_PARKS);
    // SQS counts retention from the first send, in the dead-letter queue too.
    const dlqRetention = template.toJSON().Resources[ids.dlq].Properties.MessageRetentionPeriod as number;
    expect(dlqRetention * 1000 - TIMER_MESSAGE_MAX_AGE_MS).toBeGreaterThanOrEqual(10 * 86_400_000);
    // Parking changes a message's visibility on the long-timer queue; the wake and timer send there.
    expect(allows(statements(template, roles.timer), 'sqs:ChangeMessageVisibility', { 'Fn::GetAtt': [ids.longTimerQueue, 'Arn'] })).toBe(
      true,
    );
    for (const role of [roles.wake, roles.timer])
      expect(allows(statements(template, role), 'sqs:SendMessage', { 'Fn::GetAtt': [ids.longTimerQueue, 'Arn'] })).toBe(true);
  });

  it('may re-send to the timer queue, read the table stream by ARN and invoke handlers', () => {
    const timer = statements(template, roles.timer);
    expect(
      actions(timer)
        .filter((a) => a.startsWith('dynamodb:') && !/Stream|GetRecords|GetShardIterator/.test(a))
        .sort(),
    ).toEqual(ITEM_ACTIONS);
    expect(allows(timer, 'sqs:SendMessage', { 'Fn::GetAtt': [ids.timerQueue, 'Arn'] })).toBe(true);
    expect(timer).toContainEqual(
      expect.objectContaining({
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        Resource: { 'Fn::GetAtt': [ids.table, 'StreamArn'] },
      }),
    );
    expect(allows(timer, 'lambda:InvokeFunction', { 'Fn::GetAtt': [ids.examples, 'Arn'] })).toBe(true);
  });
});

describe('REST API and ingress', () => {
  it('is a REST API (v1) only: no API Gateway v2 resource', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    const v2 = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).filter((r) =>
      r.Type.startsWith('AWS::ApiGatewayV2::'),
    );
    expect(v2).toEqual([]);
  });

  it('sends the root, a greedy {proxy+} and /restate/{proxy+} to the ingress, the callback resources to the callback function, all with ANY as Lambda proxy integrations', () => {
    template.hasResourceProperties('AWS::ApiGateway::Resource', {
      PathPart: '{proxy+}',
      ParentId: { 'Fn::GetAtt': [ids.api, 'RootResourceId'] },
    });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    // root, {proxy+}, restate, restate/{proxy+} | restate/awakeables(+proxy), restate/a(+proxy), restate/webhooks(+proxy), 2025-12-01(+proxy), webhooks(+proxy)
    expect(methods).toHaveLength(14);
    const resources = methods.map((m) => JSON.stringify(m.Properties.ResourceId));
    expect(resources).toContain(JSON.stringify({ 'Fn::GetAtt': [ids.api, 'RootResourceId'] }));
    const callbacks = logicalId(template, 'AWS::Lambda::Function', 'RuntimeCallbacks');
    const served = { ingress: 0, callbacks: 0 };
    for (const method of methods) {
      expect(method.Properties.HttpMethod).toBe('ANY');
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      const uri = JSON.stringify(method.Properties.Integration.Uri);
      if (uri.includes(`"${ids.ingress}"`)) served.ingress++;
      if (uri.includes(`"${callbacks}"`)) served.callbacks++;
    }
    expect(served).toEqual({ ingress: 4, callbacks: 10 });
  });

  it('logs access and throttles at the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: Match.arrayWith([
        Match.objectLike({ DataTraceEnabled: false, LoggingLevel: 'ERROR', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
    });
  });

  it("grants the ingress item reads and writes, the purge's deletes, a timer send, the secret, and the handlers' invoke (the direct wake)", () => {
    const ingress = statements(template, roles.ingress);
    const granted = actions(ingress);
    expect(granted.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
      // Query twice: on the table, and on its list index (the listing).
      [...ITEM_ACTIONS, 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:Query'].sort(),
    );
    expect(allows(ingress, 'sqs:SendMessage', { 'Fn::GetAtt': [ids.timerQueue, 'Arn'] })).toBe(true);
    expect(allows(ingress, 'secretsmanager:GetSecretValue', { Ref: ids.secret })).toBe(true);
    // The direct wake (on by default): exactly the registered handler function and its qualified ARNs.
    const qualified = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.examples, 'Arn'] }, ':*']] };
    for (const role of [roles.ingress, roles.callbacks]) {
      const list = statements(template, role);
      expect(allows(list, 'lambda:InvokeFunction', qualified)).toBe(true);
      expect(allows(list, 'lambda:InvokeFunction', { 'Fn::GetAtt': [ids.examples, 'Arn'] })).toBe(true);
      expect(allows(list, 'lambda:InvokeFunction', '*')).toBe(false);
      expect(actions(list).filter((a) => a.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    }
  });
});

describe('handler function (examples)', () => {
  it('gets the item actions (no Scan, no Delete), a timer send and the secret, and no Lambda invoke', () => {
    const handler = statements(template, roles.examples);
    const granted = actions(handler);
    expect(granted.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(ITEM_ACTIONS);
    expect(allows(handler, 'sqs:SendMessage', { 'Fn::GetAtt': [ids.timerQueue, 'Arn'] })).toBe(true);
    expect(allows(handler, 'secretsmanager:GetSecretValue', { Ref: ids.secret })).toBe(true);
    expect(granted.filter((a) => a.startsWith('lambda:'))).toEqual([]);
  });

  it('retries failed asynchronous attempts at most twice, then sends them to the recovery queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids.examples },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.recoveryQueue, 'Arn'] } } },
    });
  });
});

describe('every function', () => {
  it('runs nodejs22.x, has its own log group with retention, and a role of its own', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(5);
    const logGroups = template.toJSON().Resources;
    for (const [id, fn] of Object.entries(functions)) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Handler, id).toBe('index.handler');
      const group = fn.Properties.LoggingConfig?.LogGroup?.Ref as string;
      expect(group, id).toBeDefined();
      expect(logGroups[group].Properties.RetentionInDays, id).toBeGreaterThan(0);
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it("gets the environment the code reads; routes name the handler function's live alias", () => {
    const resources = template.toJSON().Resources;
    const apiUrl = {
      'Fn::Join': ['', ['https://', { Ref: ids.api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']],
    };
    const names = EXAMPLE_SERVICES.map((d) => d.name).sort((a, b) => a.localeCompare(b));
    expect(names).toEqual(['greeter', 'review', 'reviewFlow', 'signoff']);
    // {"greeter":"<alias ARN>","review":"<alias ARN>",…}: CloudFormation joins the literal parts with the alias (new work; rule 12).
    const routeParts = [...names.flatMap((name, i) => [`${i === 0 ? '{"' : '","'}${name}":"`, { Ref: ids.examplesAlias }]), '"}'];
    for (const fn of [ids.ingress, ids.wake, ids.timer, ids.examples]) {
      const env = resources[fn].Properties.Environment.Variables;
      expect(env, fn).toMatchObject({
        DORMANT_TABLE_NAME: { Ref: ids.table },
        DORMANT_TIMER_QUEUE_URL: { Ref: ids.timerQueue },
        DORMANT_LONG_TIMER_QUEUE_URL: { Ref: ids.longTimerQueue },
        DORMANT_SIGNING_SECRET_ARN: { Ref: ids.secret },
        DORMANT_API_URL: apiUrl,
        DORMANT_RETENTION_HOURS: '24',
      });
      if (fn === ids.examples) expect(env.DORMANT_ROUTES, fn).toBeUndefined();
      else expect(env.DORMANT_ROUTES, fn).toEqual({ 'Fn::Join': ['', routeParts] });
      if (fn === ids.ingress) expect(JSON.parse(env.DORMANT_SERVICES), fn).toEqual(catalogOf(EXAMPLE_SERVICES));
      else expect(env.DORMANT_SERVICES, fn).toBeUndefined();
    }
  });

  it('never gets dynamodb:* or Scan, or any wildcard action, in any policy', () => {
    const all = actions(statements(template));
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((a) => a.includes('*'))).toEqual([]);
    expect(all.filter((a) => /^dynamodb:(Scan|DeleteTable|UpdateTable|CreateTable)$/.test(a))).toEqual([]);
    // Table actions target the table itself, never an index or a wildcard.
    for (const statement of statements(template)) {
      const acts = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      if (acts.some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams')) {
        expect(JSON.stringify(statement.Resource)).not.toContain('*');
      }
    }
  });
});

describe('secret and outputs', () => {
  it('generates the signing secret at deploy time', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
      SecretString: Match.absent(),
    });
  });

  it('outputs the API URL and the resolve URL template', () => {
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(['ApiUrl', 'DeadLetterQueueUrl', 'ResolveUrlTemplate', 'TableName', 'TimerQueueUrl']);
    const resolve = JSON.stringify(outputs.ResolveUrlTemplate.Value);
    expect(resolve).toContain('/prod/restate/awakeables/{id}/resolve');
    expect(resolve).toContain(ids.api);
  });
});

describe('handler function versions (rule 12)', () => {
  it('publishes a version on every deploy that changes the function, kept (Retain), with the live alias on it', () => {
    const resources = template.toJSON().Resources;
    const version = resources[ids.examplesVersion];
    expect(version.Properties.FunctionName).toEqual({ Ref: ids.examples });
    expect(version.DeletionPolicy).toBe('Retain');
    expect(version.UpdateReplacePolicy).toBe('Retain');
    expect(resources[ids.examplesAlias].Properties).toMatchObject({
      Name: 'live',
      FunctionName: { Ref: ids.examples },
      FunctionVersion: { 'Fn::GetAtt': [ids.examplesVersion, 'Version'] },
    });
  });

  it("the wake, timer, ingress and callbacks may invoke the function's qualified ARNs (the alias and pinned versions), nothing wider", () => {
    const qualified = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.examples, 'Arn'] }, ':*']] };
    for (const role of [roles.wake, roles.timer, roles.ingress, roles.callbacks]) {
      const list = statements(template, role);
      expect(allows(list, 'lambda:InvokeFunction', qualified)).toBe(true);
      expect(allows(list, 'lambda:InvokeFunction', { 'Fn::GetAtt': [ids.examples, 'Arn'] })).toBe(true);
      expect(allows(list, 'lambda:InvokeFunction', '*')).toBe(false);
    }
  });

  it("sends failed attempts of every qualifier to recovery; a version's configuration is kept with it", () => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')) as {
      Properties: { Qualifier: unknown; DestinationConfig: unknown };
      DeletionPolicy?: string;
    }[];
    const qualifiers = configs.map((c) => JSON.stringify(c.Properties.Qualifier));
    expect(qualifiers).toContain('"$LATEST"');
    expect(qualifiers).toContain(JSON.stringify({ 'Fn::GetAtt': [ids.examplesVersion, 'Version'] }));
    expect(qualifiers.some((q) => q.includes(ids.examplesAlias) || q === '"live"')).toBe(true);
    const ofVersion = configs.find((c) => JSON.stringify(c.Properties.Qualifier).includes(ids.examplesVersion))!;
    expect(ofVersion.DeletionPolicy).toBe('Retain');
    for (const c of configs) {
      expect(c.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [ids.recoveryQueue, 'Arn'] } } });
    }
  });
});
