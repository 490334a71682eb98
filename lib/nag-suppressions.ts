import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * cdk-nag AwsSolutions findings Herald accepts, each with its reason. Everything else must be clean
 * (test/cdk asserts it).
 */
const ACKNOWLEDGED: { id: string; reason: string }[] = [
  {
    id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    reason: "The Lambdas use AWSLambdaBasicExecutionRole, AWS's minimal policy for writing their own logs.",
  },
  {
    id: "AwsSolutions::AwsSolutions-APIG4",
    reason:
      "Herald authenticates every request itself with the QStash token (Bearer or qstash_token), as QStash clients expect; a gateway authorizer would add cost and latency without adding protection.",
  },
  {
    id: "AwsSolutions::AwsSolutions-S1",
    reason:
      "The bucket only holds message bodies too large for DynamoDB, written and read by Herald's Lambdas; server access logs would need a second bucket per deployment for little insight.",
  },
  {
    id: "AwsSolutions::AwsSolutions-SQS3",
    reason: "These are the redrive (dead-letter) queues themselves.",
  },
  {
    id: "AwsSolutions::AwsSolutions-SMG4",
    reason:
      "Signing keys rotate through POST /v2/keys/rotate (QStash's rotation protocol, which receivers follow); the token is rotated by editing the secret. A rotation Lambda would break receivers.",
  },
];

export function acknowledgeNagFindings(herald: IConstruct): void {
  for (const rule of ACKNOWLEDGED) Validations.of(herald).acknowledge(rule);
}

/**
 * Acknowledges the IAM5 finding for one wildcard resource ARN of a policy Herald writes itself — a
 * path inside one of Herald's own resources whose last part is only known at run time (object keys,
 * schedule names).
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const flat = flatten(Stack.of(scope).resolve(arn));
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flat}]`, reason });
}

/** The flat form cdk-nag gives a CloudFormation reference (`<Logical.Arn>/bodies/*`). */
function flatten(node: unknown): string {
  if (typeof node === "string") return node;
  if (node && typeof node === "object") {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value["Fn::Join"])) {
      const [delimiter, items] = value["Fn::Join"] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (Array.isArray(value["Fn::GetAtt"])) {
      const [resource, attribute] = value["Fn::GetAtt"] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (value.Ref !== undefined) return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
