import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, Billing, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { GSI_LISTS, TABLE_KEYS, TTL_ATTRIBUTE } from "../lambdas/adapters/aws/table-schema.ts";

export interface HeraldStorageProps {
  retention: Duration;
  removalPolicy: RemovalPolicy;
}

/**
 * Messages, statuses, the event log and the DLQ in one on-demand table (layout in table-schema.ts,
 * shared with the adapter), and a bucket for bodies too large for an item.
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
      billing: Billing.onDemand(),
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
