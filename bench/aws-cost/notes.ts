// The standing notes of every result: what is measured and what is assumed.
import { SECRET_CACHE_MS } from "../../lambdas/adapters/aws/secrets-manager-keys.ts";
import { LOG_EVENT_OVERHEAD_BYTES } from "../prices-us-east-1.ts";
import { PLATFORM_LOG_BYTES } from "./pricing.ts";
import type { StackFacts } from "./stack.ts";

export function standingNotes(facts: StackFacts): string[] {
  return [
    "All prices are us-east-1 list prices WITHOUT free tiers (bench/prices-us-east-1.ts has each source).",
    "Measured on emulated AWS in one process: the real API and delivery handlers and AWS adapters on DynamoDB " +
      "Local and fauxqs; Scheduler and Secrets Manager are stand-ins whose calls are counted. Requests, consumed " +
      "capacity (DynamoDB Local's ReturnConsumedCapacity, incl. GSIs), SQS payloads, invocations and log lines are " +
      "counted, not modelled.",
    `Lambda duration is each handler's measured wall time rounded up to 1 ms, at the stack's memory ` +
      `(api ${facts.memoryMb.api} MB, deliver ${facts.memoryMb.deliver} MB, arm64). It includes DynamoDB Local/fauxqs ` +
      "latency and this machine's CPU, shared by concurrent invocations in one process, not Lambda's; cold starts " +
      "(and INIT billing) are excluded by a warm-up.",
    "Steady load (workloads, cost_per_million): every delivery batch is full where the workload has ten jobs to " +
      "give, as the event source mapping's are when jobs keep arriving. Publishes are measured apart, then drained " +
      "in batches of ten; the jobs a workload makes later (retries, callbacks, delayed jobs coming due, a " +
      "schedule's messages) wait, before a receive, for a full batch, for nothing more to be able to join it, or " +
      "for 2 s (bench/aws-cost/delivery-batches.ts; before 2026-12-03 only the first drain was in full batches). " +
      "The stand-in's empty receives are excluded per message (they are the idle polling cost, itemized in " +
      "idle_items).",
    `Secrets Manager: a Lambda container reads the secret when its copy is older than ${SECRET_CACHE_MS / 1000} s ` +
      "(SecretsManagerKeys), so once a minute while it serves, whatever its traffic: priced per warm container " +
      "(secrets_manager_per_warm_container_month), not per message. The reads a run makes are counted " +
      "(counts.secrets_manager); delay2h's clock jump expires the cache and makes one.",
    "SQS: every request the queue sees is billed to its owner (Herald's sends, the event source mapping's " +
      "receives/deletes, Scheduler's sends), one per started 64 KB of payload. Scheduler bills its invocations.",
    `DynamoDB storage: the table's net growth during a workload (items + 100 B, per table and GSI entry), kept for ` +
      `the retention (${facts.retentionDays} days) at storage + PITR prices. Logs: captured stdout/stderr of the ` +
      `handlers (Powertools JSON + EMF), ` +
      (facts.platformLogged
        ? `plus ${PLATFORM_LOG_BYTES} B of platform.start/report per invocation, `
        : "no platform.start/report (the stack's system log level drops them), ") +
      `one API access-log line per request (ingested at the ` +
      `${facts.accessLogInfrequentAccess ? "Infrequent Access" : "Standard"} price, the class of the stack's access ` +
      `log group) and ${LOG_EVENT_OVERHEAD_BYTES} B per event, ingested and stored ${facts.logRetentionDays} days.`,
    "delay2h: published with Upstash-Delay: 2h, then the process clock (Date.now, which Herald, the stand-in " +
      "Scheduler and fauxqs all read) jumps to a second past each schedule's at() time and runDueSchedules fires the " +
      "one-time schedules; the delivery handler finds the jobs ~59 s early and sends them on with DelaySeconds (as " +
      "on AWS); the clock then jumps past the due times and they are delivered. The stack's sweep, which the " +
      "first jump makes due, fires before the one-time schedules and is not counted (it is in the idle cost; " +
      "before 2026-12-04 its firing was counted here).",
    "fifo is /v2/enqueue to a queue with parallelism 1: its messages travel through the SQS FIFO queue, one " +
      "message group per lane (docs/architecture.md §14), drained in FIFO batches (several of a group per receive). " +
      "fanout3 counts 3 deliveries per publish; retry1 counts 1 delivered message per 2 attempts.",
    "queue10 is the same with parallelism 10 (set by POST /v2/queues). flowcontrol publishes with " +
      "Upstash-Flow-Control-Key and Upstash-Flow-Control-Value: parallelism=5, measured apart and drained like " +
      "single; its messages travel through the key's five lanes on the FIFO queue, a batch's records of a lane " +
      "passing their slot on in the invocation (docs/architecture.md §15, Lanes; before 2026-12-07 through the " +
      "standard queue, where batches of ten met five slots and the rest waited in the key's wait list). " +
      "callback publishes with " +
      "Upstash-Callback to the sink: the message and its callback are both delivered, priced per message (per " +
      "delivery it would be half). body32k is single with a 32 KiB body (at the carried-body limit).",
    "schedule: one firing of a schedule delivering one 1 KB message. N schedules are created through the API " +
      "(not counted) with a cron naming a minute T a few minutes ahead, off the sweep's 5-minute grid, and the " +
      "minute after it (T is not their last firing: a schedule whose next firing is over half the retention away " +
      "also writes a firing record, one write unit more); the " +
      "sweep is fired first (not counted) if due before T; then runDueSchedules(T) fires the N schedules as " +
      "Scheduler would (each firing a Scheduler invocation, its SendMessage, a delivery invocation that publishes " +
      "the message, and the message's delivery).",
    "workflow: runs of one workflow (3 context.run steps returning 1 KB, 1 context.sleep of 1 s) served by the " +
      "official @upstash/workflow SDK in this process (the customer's endpoint: its compute is not priced), " +
      "triggered with its Workflow client, one run at a time. Every request the SDK makes to the API (the trigger, " +
      "a publish per step, the DELETE ending the run) goes through a counting proxy and is billed as an API " +
      "Gateway request. Priced per step (4 per run; per_run has the run's figure). A delivery waits for the app's " +
      "answer, which waits for its publish of the next step: that nested API call is in the delivery's Lambda " +
      "time at emulated latency, also in the at-AWS-latency figure. The step log's stored bytes are kept a year " +
      "past the retention (WORKFLOW_STEP_HORIZON_MS) and priced so.",
    "Trickle (workloads_trickle, cost_per_million_trickle): the same workloads, measured again with the event " +
      "source mapping's receives capped at one message (a middleware on its SQS client), so every delivery batch " +
      "holds one message: its own invocation, receive and delete, log page. Measured, not computed.",
    "Provisioned capacity (per_million.total_with_provisioned_capacity, cost_per_million_provisioned_capacity): " +
      "the steady figures with the same DynamoDB read and write units billed as provisioned capacity (the " +
      "tableCapacity opt-in) used at 70 % on average, auto scaling's target: capacity-hours / 3,600 / 0.7 per unit. " +
      "A model of a steady load, not a measurement; an idle table still pays its minimum capacity (1 WCU and " +
      "1 RCU for the table and for its index: $1.14 a month) and its alarms (the throttle alarm $0.40, auto " +
      "scaling's own $0.80–1.60), which the idle figures, for the default, leave out.",
    "Function URL (per_million.total_via_function_url, cost_per_million_via_function_url): the steady figures " +
      "with producers calling the Function URL of the rawPathEndpoint opt-in instead of API Gateway: the same " +
      "requests without the HTTP API's request charge and the stage's access log. A model, not a measurement: the " +
      "bench calls the API through the emulated HTTP API.",
    "cost_lines: each workload's bill by service and operation (DynamoDB per operation in capacity units, SQS " +
      "per operation and caller in billed 64 KB requests, Lambda invocations and GB-s per function, logs per " +
      "source in bytes), per message and per million; they add up to per_million.total. Render them with " +
      "`npx node bench/cost-table.ts <results.json> [<after.json>]`.",
  ];
}
