import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { CfnSchedule, ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { sweepScheduleInput } from "../lambdas/adapters/aws/sweep-schedule.ts";

/**
 * EventBridge Scheduler for waits longer than SQS allows (15 minutes): Herald's one-time schedules live
 * in their own group, and fire into the delivery queue through a role that may do nothing else. The
 * group also holds the recurring sweep (lambdas/core/sweep.ts): every 5 minutes a `{"sweep":1}` job on
 * the delivery queue heals what a crash left without a next event.
 */
export class HeraldScheduling extends Construct {
  readonly group: ScheduleGroup;
  readonly role: Role;
  readonly sweep: CfnSchedule;

  constructor(scope: Construct, id: string, props: { target: IQueue; deadLetter: IQueue }) {
    super(scope, id);
    // Deleted with the stack, and EventBridge Scheduler deletes its schedules with it (DeleteScheduleGroup,
    // https://docs.aws.amazon.com/scheduler/latest/APIReference/API_DeleteScheduleGroup.html). Retained, its
    // schedules kept firing into the deleted queue, and a redeploy failed on the group's synth-fixed name.
    this.group = new ScheduleGroup(this, "Group", { removalPolicy: RemovalPolicy.DESTROY });
    this.role = new Role(this, "Role", {
      // Only schedules of this account may use the role (the confused-deputy guard AWS recommends).
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
      description:
        "Lets Herald's schedules send delivery jobs and sweeps to its queue (or its poison queue), nothing else",
    });
    // A job Scheduler cannot deliver goes to the poison queue (alarmed) instead of being dropped.
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ["sqs:SendMessage"],
        resources: [props.target.queueArn, props.deadLetter.queueArn],
      }),
    );
    const input = sweepScheduleInput({
      scheduleGroup: this.group.scheduleGroupName,
      queueArn: props.target.queueArn,
      schedulerRoleArn: this.role.roleArn,
      scheduleDeadLetterArn: props.deadLetter.queueArn,
    });
    const target = input.Target;
    this.sweep = new CfnSchedule(this, "Sweep", {
      name: input.Name,
      groupName: input.GroupName,
      description: input.Description,
      scheduleExpression: input.ScheduleExpression as string,
      scheduleExpressionTimezone: input.ScheduleExpressionTimezone,
      flexibleTimeWindow: { mode: input.FlexibleTimeWindow?.Mode as string },
      state: input.State,
      target: {
        arn: target?.Arn as string,
        roleArn: target?.RoleArn as string,
        input: target?.Input,
        retryPolicy: {
          maximumEventAgeInSeconds: target?.RetryPolicy?.MaximumEventAgeInSeconds,
          maximumRetryAttempts: target?.RetryPolicy?.MaximumRetryAttempts,
        },
        deadLetterConfig: { arn: target?.DeadLetterConfig?.Arn },
      },
    });
    // The group's name is known at synth (no reference to wait on), and the role's policy must exist
    // before Scheduler first sends with it.
    this.sweep.node.addDependency(this.group, this.role);
  }
}
