import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FAILED_INVOCATIONS_METRIC, METRICS_NAMESPACE, METRICS_SERVICE, TABLE_DIMENSION } from '../../src/runtime/telemetry.ts';

/**
 * The alarms of a {@link DurableRuntime}, and where they notify. Every
 * threshold has a default meant for a production stack: any message on the
 * dead-letter queue, any error of the wake or timer, any failed invocation
 * is worth a look; a stream backlog is one once wakes run five minutes late.
 *
 * @example
 * ```ts
 * new DurableRuntime(stack, 'Runtime', { alarms: { topic: new Topic(stack, 'OnCall') } });
 * new DurableRuntime(stack, 'Quiet', { alarms: false }); // none
 * ```
 */
export interface RuntimeAlarmsOptions {
  /** Notified when an alarm goes off and when it recovers. @default no action (the alarms show in CloudWatch) */
  readonly topic?: ITopic;
  /** Messages visible on the dead-letter queue that raise its alarm. @default 1 */
  readonly deadLetterMessages?: number;
  /** Age of the oldest stream record the wake has not processed. @default Duration.minutes(5) */
  readonly wakeIteratorAge?: Duration;
  /** Errors of the wake or the timer function within `period` that raise their alarm. @default 1 */
  readonly functionErrors?: number;
  /** Invocations that failed for good (a terminal error, retries spent) within `period`. @default 1 */
  readonly failedInvocations?: number;
  /** The period every alarm is evaluated over. @default Duration.minutes(5) */
  readonly period?: Duration;
}

/** What {@link RuntimeAlarms} watches. */
export interface RuntimeAlarmsProps extends RuntimeAlarmsOptions {
  readonly deadLetterQueue: IQueue;
  readonly wake: IFunction;
  readonly timer: IFunction;
  /** The runtime's table name: the dimension handler functions emit their metrics under. */
  readonly tableName: string;
}

/**
 * CloudWatch alarms on what needs an operator: the dead-letter queue's
 * depth, the stream mapping's iterator age (wakes falling behind), wake and
 * timer function errors, and invocations that failed for good (the
 * `FailedInvocations` metric handler functions emit in the `Dormant`
 * namespace, per table). `DurableRuntime` creates one unless `alarms: false`.
 *
 * @example
 * ```ts
 * const alarms = new RuntimeAlarms(this, 'Alarms', { deadLetterQueue, wake, timer, tableName: table.tableName, topic });
 * alarms.deadLetters.alarmArn;
 * ```
 */
export class RuntimeAlarms extends Construct {
  /** Messages on the dead-letter queue: timers or recoveries given up. */
  readonly deadLetters: Alarm;
  /** The wake reads the stream late: wake-ups are delayed. */
  readonly wakeIteratorAge: Alarm;
  /** The wake function failed. */
  readonly wakeErrors: Alarm;
  /** The timer function failed. */
  readonly timerErrors: Alarm;
  /** Invocations ended `failed`. */
  readonly failedInvocations: Alarm;

  constructor(scope: Construct, id: string, props: RuntimeAlarmsProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const action: IAlarmAction | undefined = props.topic ? new SnsAction(props.topic) : undefined;
    const alarm = (name: string, metric: Metric, threshold: number, description: string): Alarm => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing happened: no messages, no errors, no failures.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (action) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      return created;
    };

    this.deadLetters = alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      props.deadLetterMessages ?? 1,
      'Dormant: messages on the dead-letter queue (timers or recoveries the timer function gave up on). Inspect them, then redrive with aws sqs start-message-move-task.',
    );
    this.wakeIteratorAge = alarm(
      'WakeIteratorAge',
      props.wake.metric('IteratorAge', { period, statistic: 'Maximum' }),
      (props.wakeIteratorAge ?? Duration.minutes(5)).toMilliseconds(),
      'Dormant: the wake function reads the table stream late, so suspended invocations wake late. Check its errors, duration and throttles.',
    );
    this.wakeErrors = alarm(
      'WakeErrors',
      props.wake.metricErrors({ period, statistic: 'Sum' }),
      props.functionErrors ?? 1,
      'Dormant: the wake function failed (stream batches are retried, then sent to the recovery queue). See its log group.',
    );
    this.timerErrors = alarm(
      'TimerErrors',
      props.timer.metricErrors({ period, statistic: 'Sum' }),
      props.functionErrors ?? 1,
      'Dormant: the timer function failed (messages are retried, then sent to the dead-letter queue). See its log group.',
    );
    this.failedInvocations = alarm(
      'FailedInvocations',
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: FAILED_INVOCATIONS_METRIC,
        // Powertools Metrics adds the service dimension to every metric it emits.
        dimensionsMap: { service: METRICS_SERVICE, [TABLE_DIMENSION]: props.tableName },
        period,
        statistic: 'Sum',
      }),
      props.failedInvocations ?? 1,
      'Dormant: invocations ended failed (a terminal error, or their retries were spent). Read their status and journal.',
    );
  }
}
