import { Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/**
 * EventBridge Scheduler for waits longer than SQS allows (15 minutes): Herald's one-time schedules live
 * in their own group, and fire into the delivery queue through a role that may do nothing else.
 */
export class HeraldScheduling extends Construct {
  readonly group: ScheduleGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: { target: IQueue; deadLetter: IQueue }) {
    super(scope, id);
    this.group = new ScheduleGroup(this, "Group", {});
    this.role = new Role(this, "Role", {
      // Only schedules of this account may use the role (the confused-deputy guard AWS recommends).
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
      description:
        "Lets Herald's one-time schedules send delivery jobs to its queue (or its poison queue), nothing else",
    });
    // A job Scheduler cannot deliver goes to the poison queue (alarmed) instead of being dropped.
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ["sqs:SendMessage"],
        resources: [props.target.queueArn, props.deadLetter.queueArn],
      }),
    );
  }
}
