import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import cdkNag from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNTH_HOOK_TIMEOUT_MS, synthExampleApp } from './support.ts';

const { AwsSolutionsChecks } = cdkNag;

let app: App;

beforeAll(() => {
  // Synthesizing already runs the AwsSolutions plugin the app registers; an
  // unacknowledged error would throw here.
  app = synthExampleApp().app;
}, SYNTH_HOOK_TIMEOUT_MS);

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the example app: no error, no warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgment a reason', () => {
    const acknowledged = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    const ids = acknowledged.map(([id]) => id.replace(/^annotation::/i, ''));
    expect(new Set(ids)).toEqual(
      new Set([
        'AwsSolutions-L1',
        'AwsSolutions-SMG4',
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG3',
        'AwsSolutions-APIG4',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<ExamplesFF627894.Arn>:*]',
      ]),
    );
    for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(60);
  });

  it('does report findings in this setup (control: a queue without SSL or DLQ)', () => {
    const control = new App();
    new Queue(new Stack(control, 'Control'), 'Queue');
    const rules = new AwsSolutionsChecks(control).validateScope(control).violations.map((v) => `${v.severity} ${v.ruleName}`);
    expect(rules).toEqual(expect.arrayContaining(['error AwsSolutions-SQS3', 'error AwsSolutions-SQS4']));
  });
});
