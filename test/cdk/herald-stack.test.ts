import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { LogGroupClass, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import { CANCEL_MARK_LIFE_MS } from "../../lambdas/core/cancel-marks.ts";
import { ACCESS_LOG_FORMAT } from "../../lib/access-log-format.ts";
import { Herald } from "../../lib/herald.ts";
import { nagReport, stackOf, synthHerald, testApp, withNag } from "./synth.ts";

let template: Template;
let nag: ReturnType<typeof synthHerald>["nag"];

beforeAll(() => {
  ({ template, nag } = synthHerald());
});

/** How many resources of a type match the (deep, partial) properties. */
const count = (t: Template, type: string, properties: Record<string, unknown>): number =>
  Object.keys(t.findResources(type, { Properties: properties })).length;

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Every statement of the policies of the Lambda roles whose logical id contains `fn` ("Api", "Delivery"). */
function lambdaStatements(t: Template, fn: string): Statement[] {
  const policies = t.findResources("AWS::IAM::Policy");
  return Object.entries(policies)
    .filter(([id]) => id.includes("Handler") && id.includes(fn))
    .flatMap(
      ([, p]) =>
        (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
}

/** A resource policy statement refusing requests that do not use TLS (cdk-nag's AwsSolutions-S10/SQS4). */
const DENIES_PLAIN_HTTP = {
  Statement: Match.arrayWith([
    Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
  ]),
};

describe("storage", () => {
  it("is one on-demand DynamoDB table with the adapter's keys, indexes, TTL and point-in-time recovery", () => {
    template.resourceCountIs("AWS::DynamoDB::GlobalTable", 1);
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "PK", KeyType: "HASH" },
        { AttributeName: "SK", KeyType: "RANGE" },
      ],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: "lists",
          KeySchema: [
            { AttributeName: "g2pk", KeyType: "HASH" },
            { AttributeName: "g2sk", KeyType: "RANGE" },
          ],
        }),
      ],
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
    template.hasResource("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Retain" });
  });

  it("takes provisioned capacity with auto scaling when asked, for the table and its index, and refuses bad bounds", () => {
    const { template: provisioned, nag: provisionedNag } = synthHerald({
      tableCapacity: { maxWriteUnits: 400, maxReadUnits: 800, minWriteUnits: 5 },
    });
    const scaling = (min: number, max: number) => ({
      MinCapacity: min,
      MaxCapacity: max,
      SeedCapacity: max,
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 70 },
    });
    provisioned.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PROVISIONED",
      WriteProvisionedThroughputSettings: { WriteCapacityAutoScalingSettings: scaling(5, 400) },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: "lists",
          WriteProvisionedThroughputSettings: { WriteCapacityAutoScalingSettings: scaling(5, 400) },
        }),
      ],
      Replicas: [
        Match.objectLike({
          ReadProvisionedThroughputSettings: { ReadCapacityAutoScalingSettings: scaling(1, 800) },
          GlobalSecondaryIndexes: [
            Match.objectLike({
              IndexName: "lists",
              ReadProvisionedThroughputSettings: { ReadCapacityAutoScalingSettings: scaling(1, 800) },
            }),
          ],
        }),
      ],
    });
    // Throttles then mean too little capacity: charted and alarmed (table and index, reads and writes).
    provisioned.resourceCountIs("AWS::CloudWatch::Alarm", 6);
    const throttleAlarm = Object.values(provisioned.findResources("AWS::CloudWatch::Alarm")).find((alarm) =>
      JSON.stringify(alarm).includes("WriteThrottleEvents"),
    );
    const alarmJson = JSON.stringify(throttleAlarm);
    expect(alarmJson).toContain("ReadThrottleEvents");
    expect(alarmJson).toContain('{"Name":"GlobalSecondaryIndexName","Value":"lists"}');
    // The table's own series too: the TableName-only series leaves the index's events out.
    const seriesDimensions = (
      throttleAlarm?.Properties.Metrics as { MetricStat?: { Metric: { Dimensions: { Name: string }[] } } }[]
    ).flatMap((metric) => (metric.MetricStat ? [metric.MetricStat.Metric.Dimensions.map((d) => d.Name).join()] : []));
    expect(seriesDimensions.sort()).toEqual([
      "GlobalSecondaryIndexName,TableName",
      "GlobalSecondaryIndexName,TableName",
      "TableName",
      "TableName",
    ]);
    expect(throttleAlarm?.Properties).toMatchObject({ Threshold: 0, EvaluationPeriods: 2 });
    const dashboardBody = JSON.stringify(provisioned.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboardBody).toContain("DynamoDB throttles");
    expect(JSON.stringify(template.findResources("AWS::CloudWatch::Dashboard"))).not.toContain("DynamoDB throttles");
    expect(provisionedNag.pluginReports.flatMap((r) => r.violations)).toEqual([]);
    // "onDemand" said outright is the default: per request, no throttle alarm.
    const { template: onDemand } = synthHerald({ tableCapacity: "onDemand" });
    onDemand.hasResourceProperties("AWS::DynamoDB::GlobalTable", { BillingMode: "PAY_PER_REQUEST" });
    onDemand.resourceCountIs("AWS::CloudWatch::Alarm", 5);
    expect(() => synthHerald({ tableCapacity: { maxWriteUnits: 0, maxReadUnits: 10 } })).toThrow(/write units/);
    expect(() =>
      synthHerald({ tableCapacity: { maxWriteUnits: 10, maxReadUnits: 10, targetUtilizationPercent: 95 } }),
    ).toThrow(/targetUtilizationPercent/);
  });

  it("keeps large bodies in an encrypted, private, TLS-only bucket that expires them", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 407, Status: "Enabled" })] },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: DENIES_PLAIN_HTTP,
    });
  });
});

describe("queues", () => {
  it("has a standard delivery queue, encrypted, size-capped and redriven to a poison queue", () => {
    const redrive = (target: string) => ({
      deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp(target), "Arn"] },
      maxReceiveCount: 5,
    });
    // The poison queue keeps its messages longer than the delivery queue (redrive keeps the enqueue time).
    template.hasResourceProperties("AWS::SQS::Queue", {
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: Match.absent(),
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      // 4 days: a bulk cancel's mark lives as long as a first job may wait here (core/cancel-marks.ts).
      MessageRetentionPeriod: CANCEL_MARK_LIFE_MS / 1000,
      MaximumMessageSize: 262144,
      VisibilityTimeout: 1080, // six times the delivery Lambda's 180 s
      RedrivePolicy: redrive("DeliveriesPoison"),
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: DENIES_PLAIN_HTTP,
    });
  });

  it("has a FIFO queue for queued messages, high-throughput, redriven to a FIFO poison queue", () => {
    template.resourceCountIs("AWS::SQS::Queue", 4);
    template.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: Match.absent(),
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
      MaximumMessageSize: 262144,
      VisibilityTimeout: 1080,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("QueuesOrderedPoison"), "Arn"] },
        maxReceiveCount: 5,
      },
    });
  });
});

describe("Lambdas", () => {
  it("run Node.js 24 on arm64 with JSON logs in log groups that expire", () => {
    const functions = template.findResources("AWS::Lambda::Function", { Properties: { Runtime: "nodejs24.x" } });
    expect(Object.keys(functions)).toHaveLength(2);
    for (const fn of Object.values(functions) as { Properties: Record<string, unknown> }[]) {
      expect(fn.Properties).toMatchObject({
        Architectures: ["arm64"],
        Handler: "index.handler",
        LoggingConfig: { LogFormat: "JSON" },
      });
    }
    expect(count(template, "AWS::Logs::LogGroup", { RetentionInDays: 30 })).toBe(3); // two Lambdas + API access logs
  });

  it("write and keep log lines at the logLevel prop: Lambda's application log level and Powertools' agree", () => {
    const levelsOf = (t: Template): [unknown, unknown][] =>
      Object.values(
        t.findResources("AWS::Lambda::Function", { Properties: { Runtime: "nodejs24.x" } }) as Record<
          string,
          {
            Properties: {
              LoggingConfig: { ApplicationLogLevel?: unknown };
              Environment: { Variables: Record<string, unknown> };
            };
          }
        >,
      ).map((fn) => [
        fn.Properties.LoggingConfig.ApplicationLogLevel,
        fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL,
      ]);
    expect(levelsOf(template)).toEqual([
      ["INFO", "INFO"],
      ["INFO", "INFO"],
    ]);
    // Lambda sets AWS_LAMBDA_LOG_LEVEL to its application level, which Powertools obeys before its own:
    // without the first, WARN would still write (and bill) every INFO line.
    expect(levelsOf(synthHerald({ logLevel: "WARN" }).template)).toEqual([
      ["WARN", "WARN"],
      ["WARN", "WARN"],
    ]);
  });

  it("get their configuration from the environment, non-public destinations refused", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 180,
      Environment: {
        Variables: Match.objectLike({
          HERALD_TABLE: Match.anyValue(),
          HERALD_BUCKET: Match.anyValue(),
          HERALD_QUEUE_URL: Match.anyValue(),
          HERALD_QUEUE_ARN: Match.anyValue(),
          HERALD_ORDERED_QUEUE_URL: Match.anyValue(),
          HERALD_SCHEDULE_GROUP: Match.anyValue(),
          HERALD_SCHEDULER_ROLE_ARN: Match.anyValue(),
          HERALD_SECRET_ARN: Match.anyValue(),
          HERALD_DESTINATION_POLICY: "public",
          HERALD_DESTINATION_ALLOW_LIST: Match.absent(),
          HERALD_MAX_TIMEOUT: "120s",
          HERALD_RETENTION: "604800s",
          HERALD_MAX_BODY_BYTES: "1048576",
          HERALD_MESSAGE_RECORDS: "full",
          // Two event source mappings of 20 invocations, ten jobs each: GET /v2/globalParallelism's cap.
          HERALD_MAX_CONCURRENT_DELIVERIES: "400",
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", { Timeout: 29 });
  });

  it("consume the delivery queue and the FIFO queue in batches with partial batch failures and a concurrency cap", () => {
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    const deliveryFunction = Object.keys(
      template.findResources("AWS::Lambda::Function", { Properties: { Timeout: 180 } }),
    )[0] as string;
    // Ten records per batch on both; a lane's records in a FIFO batch run one after another (lib/delivery.ts).
    for (const queue of ["QueuesDeliveries(?!Poison)", "QueuesOrdered(?!Poison)"]) {
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: 20 },
        FunctionName: { Ref: deliveryFunction },
        EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp(queue), "Arn"] },
      });
    }
  });

  it("update the delivery function before the API's (new storage layouts are read before they are written)", () => {
    const byTimeout = (timeout: number) =>
      Object.entries(template.findResources("AWS::Lambda::Function", { Properties: { Timeout: timeout } }))[0] as [
        string,
        { DependsOn?: string[] },
      ];
    const [deliveryId] = byTimeout(180);
    const [, api] = byTimeout(29);
    expect(api.DependsOn).toContain(deliveryId);
  });

  it("lets the API do every call the AWS adapters make (each SDK command they send has its IAM action)", () => {
    // What each command of the SDKs the adapters use needs; a command missing here fails the test, so a
    // new call cannot reach AWS without its grant (emulated AWS checks no IAM: BatchGetItem went unnoticed).
    const ACTION: Record<string, string | null> = {
      BatchGetCommand: "dynamodb:BatchGetItem",
      BatchWriteCommand: "dynamodb:BatchWriteItem",
      DeleteCommand: "dynamodb:DeleteItem",
      GetCommand: "dynamodb:GetItem",
      PutCommand: "dynamodb:PutItem",
      QueryCommand: "dynamodb:Query",
      UpdateCommand: "dynamodb:UpdateItem",
      GetObjectCommand: "s3:GetObject",
      PutObjectCommand: "s3:PutObject",
      SendMessageCommand: "sqs:SendMessage",
      SendMessageBatchCommand: "sqs:SendMessage", // SendMessageBatch is authorized as SendMessage
      CreateScheduleCommand: "scheduler:CreateSchedule",
      UpdateScheduleCommand: "scheduler:UpdateSchedule",
      DeleteScheduleCommand: "scheduler:DeleteSchedule",
      GetSecretValueCommand: "secretsmanager:GetSecretValue",
      PutSecretValueCommand: "secretsmanager:PutSecretValue",
      // Emulation and tests only (create-table.ts): the stack makes the table.
      CreateTableCommand: null,
      UpdateTimeToLiveCommand: null,
    };
    const dir = join(import.meta.dirname, "../../lambdas/adapters/aws");
    const needed = new Set<string>();
    for (const file of readdirSync(dir)) {
      for (const [, command] of readFileSync(join(dir, file), "utf8").matchAll(/new (\w+Command)\(/g)) {
        expect(ACTION, `${command} in ${file}`).toHaveProperty(command as string);
        const action = ACTION[command as string];
        if (action) needed.add(action);
      }
    }
    const granted = new Set(
      lambdaStatements(template, "Api").flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])),
    );
    expect([...needed].filter((action) => !granted.has(action))).toEqual([]);
  });

  it("may do only what Herald does, only on Herald's resources", () => {
    const actionsOf = (fn: string): string[] => {
      const statements = lambdaStatements(template, fn);
      return [...new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
    };
    const common = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
      "iam:PassRole",
      "s3:GetObject",
      "s3:PutObject",
      "scheduler:CreateSchedule",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:SendMessage",
    ];
    expect(actionsOf("Api")).toEqual(
      [...common, "dynamodb:BatchGetItem", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"].sort(),
    );
    // The delivery Lambda also consumes its queues (the event source mappings), and never lists or deletes.
    expect(actionsOf("Delivery")).toEqual(
      [...common, "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"].sort(),
    );
    const statements = lambdaStatements(template, "");
    // No statement grants anything on every resource.
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    const s3 = statements.find((s) => JSON.stringify(s.Action).includes("s3:GetObject"));
    expect(JSON.stringify(s3?.Resource)).toMatch(/\/bodies\/\*.*\/responses\/\*/);
    const passRole = statements.find((s) => s.Action === "iam:PassRole") as Statement & { Condition?: unknown };
    expect(passRole.Condition).toEqual({ StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } });
    const indexQuery = statements.filter((s) => JSON.stringify(s.Resource).includes("/index/"));
    expect(indexQuery.map((s) => s.Action)).toEqual(["dynamodb:Query"]); // the API's lists only
  });
});

describe("API", () => {
  it("is an HTTP API whose every route goes to the API Lambda (payload 2.0), with access logs", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
  });

  it("writes the access log to an Infrequent Access group, a group of its own per class; the Lambdas' stay Standard", () => {
    const accessLogGroup = (t: Template) => {
      const stage = Object.values(t.findResources("AWS::ApiGatewayV2::Stage"))[0] as {
        Properties: { AccessLogSettings: { DestinationArn: { "Fn::GetAtt": [string, string] } } };
      };
      const [id] = stage.Properties.AccessLogSettings.DestinationArn["Fn::GetAtt"];
      return { id, ...(t.findResources("AWS::Logs::LogGroup")[id] as { Properties: Record<string, unknown> }) };
    };
    const group = accessLogGroup(template);
    expect(group.Properties.LogGroupClass).toBe("INFREQUENT_ACCESS");
    // The Lambdas' groups carry the EMF metrics, which Infrequent Access does not extract.
    const others = Object.entries(template.findResources("AWS::Logs::LogGroup"))
      .filter(([id]) => id !== group.id)
      .map(([, g]) => g);
    expect(others.length).toBeGreaterThanOrEqual(2);
    for (const other of others)
      expect((other as { Properties: object }).Properties).not.toHaveProperty("LogGroupClass");

    const { template: standard, nag } = synthHerald({ accessLogClass: LogGroupClass.STANDARD });
    expect(accessLogGroup(standard).Properties.LogGroupClass).toBe("STANDARD");
    // CloudFormation fails an in-place change of a group's class: switching must swap groups instead, and
    // the Standard group keeps the logical id stacks from before the Infrequent Access default have.
    expect(accessLogGroup(standard).id).not.toBe(group.id);
    expect(accessLogGroup(standard).id).toBe("HeraldApiAccessLogs2FD539AF");
    expect(nag.pluginReports.find((r) => r.pluginName === "AwsSolutions")?.violations).toEqual([]);
    expect(
      () =>
        new Herald(stackOf(testApp(), "DeliveryClass"), "Messaging", {
          accessLogClass: LogGroupClass.DELIVERY as LogGroupClass.STANDARD,
        }),
    ).toThrow(/accessLogClass/);
  });

  it("logs HTTP API's own context variables, never REST-only ones or the query", () => {
    const stages = Object.values(template.findResources("AWS::ApiGatewayV2::Stage")) as {
      Properties: { AccessLogSettings: { Format: string } };
    }[];
    const format = stages[0]?.Properties.AccessLogSettings.Format as string;
    const variables = [...format.matchAll(/\$context\.[\w.]+/g)].map((m) => m[0]);
    expect(variables).toContain("$context.requestId");
    expect(variables).toContain("$context.status");
    // REST API variables that HTTP APIs do not have, and the query string (it may hold qstash_token).
    for (const bad of ["resourcePath", "identity.caller", "identity.user", "requestOverride"]) {
      expect(variables).not.toContain(`$context.${bad}`);
    }
    expect(format.toLowerCase()).not.toContain("querystring");
    expect(JSON.parse(format)).toMatchObject({ path: "$context.path", ip: "$context.identity.sourceIp" });
    expect(format).toBe(ACCESS_LOG_FORMAT); // the line the cost bench prices
  });

  it("has no Function URL by default; rawPathEndpoint adds one on the API Lambda, with its output", () => {
    template.resourceCountIs("AWS::Lambda::Url", 0);
    const { template: withUrl, nag: urlNag } = synthHerald({ rawPathEndpoint: true, apiReservedConcurrency: 20 });
    withUrl.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE", // Herald's token is the authentication, as on the HTTP API
      TargetFunctionArn: { "Fn::GetAtt": [Match.stringLikeRegexp("ApiHandler"), "Arn"] },
    });
    withUrl.hasOutput("RawPathUrl", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("FunctionUrl"), "FunctionUrl"] },
    });
    expect(urlNag.pluginReports.find((r) => r.pluginName === "AwsSolutions")?.violations).toEqual([]);
    // Its requests pass no stage: the dashboard's API responses chart the Function URL's own 4xx and 5xx.
    const urlDashboard = JSON.stringify(withUrl.findResources("AWS::CloudWatch::Dashboard"));
    for (const metric of ["Url4xxCount", "Url5xxCount"]) {
      // AWS/Lambda's metric of the API function (the dashboard body escapes its quotes).
      expect(urlDashboard).toMatch(
        new RegExp(`AWS/Lambda[^A-Za-z]+${metric}[^A-Za-z]+FunctionName[^{]+\\{"Ref":"\\w*ApiHandler`),
      );
    }
    expect(JSON.stringify(template.findResources("AWS::CloudWatch::Dashboard"))).not.toContain("Url5xxCount");
  });

  it("takes the stage's throttling and the API Lambda's reserved concurrency from props", () => {
    const stack = stackOf(testApp(), "Throttled");
    new Herald(stack, "Messaging", { apiThrottle: { rateLimit: 50, burstLimit: 100 }, apiReservedConcurrency: 10 });
    const t = Template.fromStack(stack);
    t.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    t.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("Herald API"),
      ReservedConcurrentExecutions: 10,
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("Herald API"),
      ReservedConcurrentExecutions: Match.absent(),
    });
    expect(() => new Herald(stack, "Bad", { apiReservedConcurrency: 0 })).toThrow(/apiReservedConcurrency/);
    expect(() => new Herald(stack, "Bad2", { apiThrottle: { rateLimit: 0, burstLimit: 1 } })).toThrow(/apiThrottle/);
  });
});

describe("scheduling and keys", () => {
  it("gives EventBridge Scheduler a group and a role that may only send to the delivery queue", () => {
    template.resourceCountIs("AWS::Scheduler::ScheduleGroup", 1);
    // Deleted with the stack (its schedules with it): a retained group kept firing, and blocked a redeploy.
    template.hasResource("AWS::Scheduler::ScheduleGroup", { DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete" });
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: "scheduler.amazonaws.com" } })],
      },
    });
    const policies = template.findResources("AWS::IAM::Policy");
    const scheduler = Object.entries(policies).find(([id]) => id.includes("SchedulingRole"))?.[1] as {
      Properties: { PolicyDocument: { Statement: Statement[] } };
    };
    expect(scheduler.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: "sqs:SendMessage",
        Effect: "Allow",
        Resource: [
          { "Fn::GetAtt": [expect.stringMatching(/QueuesDeliveries(?!Poison)/), "Arn"] },
          { "Fn::GetAtt": [expect.stringMatching(/QueuesDeliveriesPoison/), "Arn"] },
        ],
      },
    ]);
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } })],
      },
    });
  });

  it("sweeps every 5 minutes: a recurring schedule in Herald's group sends {sweep:1} to the delivery queue", () => {
    template.resourceCountIs("AWS::Scheduler::Schedule", 1);
    const [groupId] = Object.keys(template.findResources("AWS::Scheduler::ScheduleGroup")) as [string];
    const [id, sweep] = Object.entries(template.findResources("AWS::Scheduler::Schedule"))[0] as [
      string,
      { Properties: Record<string, unknown>; DependsOn?: string[] },
    ];
    expect(sweep.Properties).toMatchObject({
      Name: "herald-sweep",
      GroupName: template.findResources("AWS::Scheduler::ScheduleGroup")[groupId]?.Properties.Name,
      ScheduleExpression: "cron(0/5 * * * ? *)",
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
      Target: {
        Arn: { "Fn::GetAtt": [expect.stringMatching(/QueuesDeliveries(?!Poison)/), "Arn"] },
        RoleArn: { "Fn::GetAtt": [expect.stringMatching(/SchedulingRole/), "Arn"] },
        Input: '{"sweep":1}',
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 10 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [expect.stringMatching(/QueuesDeliveriesPoison/), "Arn"] } },
      },
    });
    // Created after its group and the role's policy, so its first firing may send.
    expect(sweep.DependsOn, id).toEqual(
      expect.arrayContaining([groupId, expect.stringMatching(/SchedulingRoleDefaultPolicy/)]),
    );
  });

  it("generates the API token into a retained secret", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: {
        GenerateStringKey: "token",
        SecretStringTemplate: "{}",
        ExcludePunctuation: true,
        PasswordLength: 48,
      },
    });
    template.hasResource("AWS::SecretsManager::Secret", { DeletionPolicy: "Retain" });
  });
});

describe("observability", () => {
  let withDashboard: Template;
  let withoutDashboard: Template;
  beforeAll(() => {
    withDashboard = template; // the default: the design card names CloudWatch dashboards as how Herald is used
    withoutDashboard = synthHerald({ dashboard: false }).template;
  });

  it("has a dashboard by default, with the message, latency, queue, Lambda and API metrics", () => {
    const dashboards = withDashboard.findResources("AWS::CloudWatch::Dashboard");
    expect(Object.keys(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const metric of [
      "Published",
      "Delivered",
      "Retried",
      "Failed",
      "DeliveryLag",
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "Errors",
      "Throttles",
      "Duration",
      "4xx",
      "5xx",
    ]) {
      expect(body).toContain(metric);
    }
  });

  it("alarms on poison messages, the delivery error rate, queue age and Scheduler fallbacks", () => {
    template.resourceCountIs("AWS::CloudWatch::Alarm", 5);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: "SchedulerFallbacks", Namespace: "Herald" }),
          }),
        }),
      ],
    });
    const on = (metricName: string, threshold: number) => ({
      Threshold: threshold,
      Metrics: [
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: metricName }) }) }),
      ],
    });
    // One per poison queue (standard and FIFO); the age alarm is the standard queue's only: the FIFO queue
    // holds queues' backlogs, which may rightly be old.
    expect(count(template, "AWS::CloudWatch::Alarm", on("ApproximateNumberOfMessagesVisible", 0))).toBe(2);
    expect(count(template, "AWS::CloudWatch::Alarm", on("ApproximateAgeOfOldestMessage", 600))).toBe(1);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "IF(invocations > 0, 100 * errors / invocations, 0)" }),
      ]),
    });
  });

  it("outputs the API URL, the secret ARN, the delivery queue's and both poison queues' ARNs and the dashboard URL", () => {
    template.hasOutput("ApiUrl", {
      Value: { "Fn::Join": ["", Match.arrayWith([Match.stringLikeRegexp("https://")])] },
    });
    template.hasOutput("SecretArn", Match.anyValue());
    template.hasOutput("PoisonQueueArn", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("DeliveriesPoison"), "Arn"] },
      Description: Match.stringLikeRegexp("start-message-move-task .*--destination-arn <DeliveryQueueArn>"),
    });
    template.hasOutput("DeliveryQueueArn", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("QueuesDeliveries(?!Poison)"), "Arn"] },
    });
    template.hasOutput("OrderedPoisonQueueArn", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("OrderedPoison"), "Arn"] },
      Description: Match.stringLikeRegexp("start-message-move-task"),
    });
    withDashboard.hasOutput("DashboardUrl", Match.anyValue());
  });

  it("leaves the dashboard out with dashboard: false, not the alarms", () => {
    withoutDashboard.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    expect(Object.keys(withoutDashboard.findOutputs("DashboardUrl"))).toEqual([]);
    withoutDashboard.resourceCountIs(
      "AWS::CloudWatch::Alarm",
      Object.keys(withDashboard.findResources("AWS::CloudWatch::Alarm")).length,
    );
  });
});

describe("cdk-nag", () => {
  it("finds nothing unacknowledged in AwsSolutions, and every acknowledgement is one Herald wrote down", () => {
    const report = nag.pluginReports.find((r) => r.pluginName === "AwsSolutions");
    expect(report?.violations).toEqual([]);
    const acknowledged = new Set(report?.suppressedViolations.map((v) => v.ruleName.replace(/\[.*$/, "")));
    expect([...acknowledged].sort()).toEqual([
      "AwsSolutions-APIG4",
      "AwsSolutions-IAM4",
      "AwsSolutions-IAM5",
      "AwsSolutions-S1",
      "AwsSolutions-SMG4",
    ]);
  });
});

describe("the Herald construct in another CDK app", () => {
  it("takes its props, wires an alarm topic, and stays cdk-nag clean under another id and region", () => {
    const app = withNag(testApp());
    const stack = stackOf(app, "TeamMessaging", "ap-southeast-2");
    const topic = new Topic(stack, "Oncall", { enforceSSL: true });
    new Herald(stack, "Messaging", {
      retention: Duration.days(3),
      deliveryConcurrency: 50,
      maxDeliveryTimeout: Duration.minutes(5),
      destinationAllowList: ["10.1.0.0/16", "hooks.internal.example", "*.svc.internal.example"],
      backoffFactor: 2.5,
      alarmTopic: topic,
      logRetention: RetentionDays.ONE_WEEK,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties("AWS::Lambda::EventSourceMapping", { ScalingConfig: { MaximumConcurrency: 50 } });
    t.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 360,
      Environment: {
        Variables: Match.objectLike({
          HERALD_DESTINATION_POLICY: "public",
          HERALD_DESTINATION_ALLOW_LIST: "10.1.0.0/16,hooks.internal.example,*.svc.internal.example",
          HERALD_BACKOFF_FACTOR: "2.5",
          HERALD_RETENTION: "259200s",
          HERALD_MAX_TIMEOUT: "300s",
          HERALD_MAX_CONCURRENT_DELIVERIES: "1000",
        }),
      },
    });
    t.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 7 }, 3);
    t.resourcePropertiesCountIs(
      "AWS::CloudWatch::Alarm",
      { AlarmActions: [{ Ref: Match.stringLikeRegexp("Oncall") }] },
      5,
    );
    const report = nagReport(app).pluginReports.find((r) => r.pluginName === "AwsSolutions");
    expect(report?.violations).toEqual([]);
  });

  it("rejects props it cannot honour", () => {
    const stack = stackOf(testApp(), "Bad");
    expect(() => new Herald(stack, "A", { maxDeliveryTimeout: Duration.minutes(15) })).toThrow(/maxDeliveryTimeout/);
    expect(() => new Herald(stack, "B", { deliveryConcurrency: 1 })).toThrow(/deliveryConcurrency/);
    expect(() => new Herald(stack, "C", { maxBodyBytes: 5 * 1024 * 1024 })).toThrow(/maxBodyBytes/);
    expect(() => new Herald(stack, "D", { destinationAllowList: ["10.0.0.0/33"] })).toThrow(/destinationAllowList/);
    expect(() => new Herald(stack, "E", { destinationAllowList: ["10.0.0.0/8,10.1.0.0/16"] })).toThrow(
      /destinationAllowList/,
    );
    expect(() => new Herald(stack, "F", { destinationPolicy: "public", allowPrivateDestinations: true })).toThrow(
      /destinationPolicy/,
    );
    expect(() => new Herald(stack, "G", { messageRecords: "none" as "lean" })).toThrow(/messageRecords/);
  });

  it("sets both Lambdas' message records from messageRecords (the lean opt-in)", () => {
    const stack = stackOf(testApp(), "Lean");
    new Herald(stack, "Messaging", { messageRecords: "lean" });
    const functions = Template.fromStack(stack).findResources("AWS::Lambda::Function", {
      Properties: { Environment: { Variables: { HERALD_MESSAGE_RECORDS: "lean" } } },
    });
    expect(Object.keys(functions)).toHaveLength(2);
  });

  it("sets the destination policy of both Lambdas from destinationPolicy, or the deprecated allowPrivateDestinations", () => {
    for (const [props, expected] of [
      [{ destinationPolicy: "any" }, "any"],
      [{ allowPrivateDestinations: true }, "any"],
      [{ allowPrivateDestinations: false }, "public"],
    ] as const) {
      const stack = stackOf(testApp(), "Policy");
      new Herald(stack, "Messaging", props);
      const variables = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")).map(
        (fn) =>
          (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment
            ?.Variables,
      );
      const herald = variables.filter((v) => v?.HERALD_TABLE !== undefined);
      expect(herald).toHaveLength(2);
      for (const v of herald) expect(v?.HERALD_DESTINATION_POLICY).toBe(expected);
    }
  });
});
