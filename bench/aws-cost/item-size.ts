// Storage: what the table holds, sized as DynamoDB bills it.
import { ScanCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GSI_LISTS } from "../../lambdas/adapters/aws/table-schema.ts";
import { utf8 } from "./meter.ts";

function numberSize(n: string): number {
  const digits = n.replace(/^-/, "").replace(/e.*$/i, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function attributeSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + attributeSize(e), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + utf8(k) + 1 + attributeSize(e), 0);
  return 0;
}

/** Partition key prefix of workflow step log items (lambdas/adapters/aws/dynamo-workflow-steps.ts). */
const STEP_LOG_PREFIX = "WS#";

/**
 * Bytes the table bills for: each item plus 100 B, again for each GSI it is in (projection ALL); and of
 * them, the workflow step log's (kept a year past the retention, WORKFLOW_STEP_HORIZON_MS).
 */
export async function tableBytes(
  client: DynamoDBClient,
  tableName: string,
): Promise<{ total: number; stepLog: number }> {
  let total = 0;
  let stepLog = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const size = Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + attributeSize(v), 0);
      let bytes = size + 100;
      for (const gsi of [GSI_LISTS]) {
        if (item[gsi.partitionKey] && item[gsi.sortKey]) bytes += size + 100;
      }
      total += bytes;
      if (item.PK?.S?.startsWith(STEP_LOG_PREFIX)) stepLog += bytes;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { total, stepLog };
}
