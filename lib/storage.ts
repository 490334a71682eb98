import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, Billing, Capacity, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { GSI_LISTS, TABLE_KEYS, TTL_ATTRIBUTE } from "../lambdas/adapters/aws/table-schema.ts";
import type { HeraldProps, TableProvisionedCapacity } from "./herald-props.ts";

export interface HeraldStorageProps {
  retention: Duration;
  removalPolicy: RemovalPolicy;
  capacity?: HeraldProps["tableCapacity"];
}

/**
 * Messages, statuses, the event log and the DLQ in one table (layout in table-schema.ts, shared with the
 * adapter), on demand unless given provisioned capacity, and a bucket for bodies too large for an item.
 */
export class HeraldStorage extends Construct {
  readonly table: TableV2;
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: HeraldStorageProps) {
    super(scope, id);
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, "Table", {
      partitionKey: key(TABLE_KEYS.partitionKey),
      sortKey: key(TABLE_KEYS.sortKey),
      billing: billingOf(props.capacity ?? "onDemand"),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      globalSecondaryIndexes: [GSI_LISTS].map((gsi) => ({
        indexName: gsi.indexName,
        partitionKey: key(gsi.partitionKey),
        sortKey: key(gsi.sortKey),
      })),
      removalPolicy: props.removalPolicy,
    });
    this.bucket = new Bucket(this, "Bodies", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Bodies outlive their messages by at most the retention plus the longest possible life of a
      // message (a year of delay and retries).
      lifecycleRules: [{ expiration: Duration.days(Math.ceil(props.retention.toDays()) + 400) }],
      removalPolicy: props.removalPolicy,
    });
  }
}

function billingOf(capacity: "onDemand" | TableProvisionedCapacity): Billing {
  if (capacity === "onDemand") return Billing.onDemand();
  const { maxWriteUnits, maxReadUnits, minWriteUnits = 1, minReadUnits = 1, targetUtilizationPercent = 70 } = capacity;
  // CDK checks the target (20–90) and min ≤ max; CloudFormation also needs whole units of at least 1.
  const units = (name: string, min: number, max: number) => {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
      throw new Error(`tableCapacity: ${name} units must be whole numbers with 1 ≤ min ≤ max`);
    }
    // The seed is what a live table switched from on demand runs with until CloudFormation has made the
    // scaling policies (AWS::DynamoDB::GlobalTable, SeedCapacity): the maximum, so a loaded table is not
    // throttled meanwhile; auto scaling then scales it in.
    return Capacity.autoscaled({ minCapacity: min, maxCapacity: max, targetUtilizationPercent, seedCapacity: max });
  };
  return Billing.provisioned({
    writeCapacity: units("write", minWriteUnits, maxWriteUnits),
    readCapacity: units("read", minReadUnits, maxReadUnits),
  });
}
