/**
 * The runtime's alarms on the synthesized template: the dead-letter queue,
 * the wake's iterator age, wake and timer errors, and the failed
 * invocations metric the handler functions emit (same namespace, name and
 * dimensions as `src/runtime/telemetry.ts` writes); an SNS topic notified
 * on alarm and on recovery when given; none with `alarms: false`.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { DurableRuntime, type DurableRuntimeProps } from '../../cdk/lib/durable-runtime.ts';
import { FAILED_INVOCATIONS_METRIC, METRICS_NAMESPACE, METRICS_SERVICE, TABLE_DIMENSION } from '../../src/runtime/telemetry.ts';
import { SYNTH_HOOK_TIMEOUT_MS, TEST_CONTEXT, logicalId } from './support.ts';

function synth(props: (stack: Stack) => DurableRuntimeProps = () => ({})) {
  const stack = new Stack(new App({ context: TEST_CONTEXT }), 'Alarmed');
  new DurableRuntime(stack, 'Runtime', props(stack));
  return Template.fromStack(stack);
}

/** Alarms by the id their construct path ends in. */
function alarms(template: Template): Record<string, Record<string, unknown>> {
  const found = template.findResources('AWS::CloudWatch::Alarm');
  return Object.fromEntries(
    Object.entries(found).map(([id, r]) => [id.replace(/^RuntimeAlarms/, '').replace(/[0-9A-F]{8}$/, ''), r.Properties]),
  );
}

describe('runtime alarms', () => {
  it(
    'watch the dead-letter queue, the wake iterator age, wake and timer errors and failed invocations, by default',
    () => {
      const template = synth();
      const found = alarms(template);
      expect(Object.keys(found).sort()).toEqual(['DeadLetters', 'FailedInvocations', 'TimerErrors', 'WakeErrors', 'WakeIteratorAge']);

      const dlq = logicalId(template, 'AWS::SQS::Queue', 'RuntimeDeadLetterQueue');
      expect(found.DeadLetters).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const wake = logicalId(template, 'AWS::Lambda::Function', 'RuntimeWake');
      const timer = logicalId(template, 'AWS::Lambda::Function', 'RuntimeTimer');
      expect(found.WakeIteratorAge).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: wake } }],
        Threshold: 300_000,
      });
      expect(found.WakeErrors).toMatchObject({
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: wake } }],
        Threshold: 1,
      });
      expect(found.TimerErrors).toMatchObject({ MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: timer } }] });

      const table = logicalId(template, 'AWS::DynamoDB::Table', 'RuntimeTable');
      expect(found.FailedInvocations).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: FAILED_INVOCATIONS_METRIC,
        Statistic: 'Sum',
        Threshold: 1,
      });
      expect(found.FailedInvocations!.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'service', Value: METRICS_SERVICE },
          { Name: TABLE_DIMENSION, Value: { Ref: table } },
        ]),
      );
      // Nobody is notified unless a topic is given.
      for (const alarm of Object.values(found)) expect(alarm.AlarmActions).toBeUndefined();
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );

  it(
    'notify the topic given on alarm and on recovery, with the thresholds given',
    () => {
      const template = synth((stack) => ({
        alarms: {
          topic: new Topic(stack, 'OnCall'),
          wakeIteratorAge: Duration.minutes(1),
          failedInvocations: 5,
          period: Duration.minutes(1),
        },
      }));
      const topic = logicalId(template, 'AWS::SNS::Topic', 'OnCall');
      const found = alarms(template);
      for (const alarm of Object.values(found)) {
        expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
        expect(alarm.OKActions).toEqual([{ Ref: topic }]);
        expect(alarm.Period).toBe(60);
      }
      expect(found.WakeIteratorAge!.Threshold).toBe(60_000);
      expect(found.FailedInvocations!.Threshold).toBe(5);
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );

  it(
    'are left out with alarms: false',
    () => {
      synth(() => ({ alarms: false })).resourceCountIs('AWS::CloudWatch::Alarm', 0);
    },
    SYNTH_HOOK_TIMEOUT_MS,
  );
});
