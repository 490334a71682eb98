import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { HeraldMetrics } from "./metrics.ts";

/**
 * Alarms on what needs an operator: poison messages, a crashing delivery Lambda, queues falling behind, and
 * a provisioned table short of capacity.
 */
export class HeraldAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: { metrics: HeraldMetrics; topic?: ITopic }) {
    super(scope, id);
    const m = props.metrics;
    props.metrics.poisonMessages().forEach((metric, i) => {
      this.add(`PoisonMessages${i}`, {
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: `${metric.label}: a delivery job crashed the handler ${5} times and was set aside`,
      });
    });
    this.add("DeliveryErrorRate", {
      metric: m.deliveryErrorRate(),
      threshold: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      alarmDescription: "More than 5% of delivery Lambda invocations fail",
    });
    this.add("SchedulerFallbacks", {
      metric: m.schedulerFallbacks(),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription:
        "EventBridge Scheduler refused one-time schedules (throttled or failing): long waits hop through SQS " +
        "every 15 minutes meanwhile; raise the CreateSchedule quota if it lasts",
    });
    m.oldestMessageAge({ alarmed: true }).forEach((metric, i) => {
      this.add(`QueueAge${i}`, {
        metric,
        threshold: Duration.minutes(10).toSeconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        alarmDescription: `${metric.label} over 10 minutes: deliveries fall behind`,
      });
    });
    const throttles = m.tableThrottles();
    if (throttles) {
      this.add("TableThrottles", {
        metric: throttles,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        alarmDescription:
          "DynamoDB throttled reads or writes in two 5-minute periods in a row: at tableCapacity's maximum, raise " +
          "it (or go back to on demand); below it, auto scaling is catching up or one key is hot",
      });
    }
    if (props.topic) for (const alarm of this.alarms) alarm.addAlarmAction(new SnsAction(props.topic));
  }

  private add(id: string, props: ConstructorParameters<typeof Alarm>[2]): void {
    this.alarms.push(new Alarm(this, id, { treatMissingData: TreatMissingData.NOT_BREACHING, ...props }));
  }
}
