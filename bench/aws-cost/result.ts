// What the AWS cost bench reports: its workloads and the shape of its result (bench/results/*.json "aws").

export const WORKLOADS = [
  "single",
  "single_lean",
  "batch100",
  "delay2h",
  "fifo",
  "fanout3",
  "retry1",
  "queue10",
  "flowcontrol",
  "schedule",
  "callback",
  "body32k",
  "workflow",
] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** The target of issue 16 ("every workload at a third of QStash's price"): US dollars per million, each workload. */
export const WORKLOAD_TARGET_USD = 3.33;

/** The workloads issue 16 gives a figure: all but the workflow (priced per step, with no target). */
export const TARGETED_WORKLOADS = WORKLOADS.filter((name) => name !== "workflow");
export type TargetedWorkload = (typeof TARGETED_WORKLOADS)[number];

/** Issue 16's figure for a workload: a 32 KiB body at most QStash's $10, the lean single at most $2, the rest $3.33. */
export const workloadTargetUsd = (name: string): number | undefined =>
  name === "workflow" ? undefined : name === "body32k" ? 10 : name === "single_lean" ? 2 : WORKLOAD_TARGET_USD;

/** How deliveries were batched: full batches of ten (steady load) or one message per batch (a trickle). */
export type DeliveryMode = "steady" | "trickle";

/** One line of a workload's bill: a service's operation or meter, per message and per million messages. */
export interface CostLine {
  /** e.g. "DynamoDB PutItem", "SQS SendMessageBatch (lambda)", "Lambda GB-s (deliver)", "API Gateway request". */
  line: string;
  service: keyof ServiceDollars;
  /** Requests (or invocations) per message, where the line is made of requests. */
  requests_per_message?: number;
  /** Billed quantity per message, in `unit` (DynamoDB: capacity units; SQS: 64 KB chunks; logs: bytes). */
  per_message: number;
  unit: string;
  /** US dollars per one `unit`. */
  unit_usd: number;
  usd_per_million: number;
  note?: string;
}

export interface ServiceDollars {
  api_gateway: number;
  lambda: number;
  sqs: number;
  dynamodb: number;
  scheduler: number;
  s3: number;
  secrets_manager: number;
  cloudwatch_logs: number;
}

export interface WorkloadResult {
  description: string;
  /** Messages accepted by the API (one per destination URL group endpoint counts once here). */
  published: number;
  /** 2xx deliveries counted at the sink (callbacks included). */
  delivered: number;
  /**
   * What the per-million figures divide by: the deliveries the workload needs (fanout3: one per endpoint;
   * callback: each message with its callback counts once). Duplicate deliveries do not count.
   */
  messages: number;
  mode: DeliveryMode;
  /**
   * Times the clock was moved 16 minutes on after the deliveries, for jobs the workload left delayed in the
   * queue (CostHarness.drainedLate): their work is counted, and a sweep firing when one fell due meanwhile.
   */
  clock_hops?: number;
  /** Deliveries at the sink beyond the one each message (and callback) needs: a destination got them twice. */
  duplicate_deliveries?: number;
  /**
   * Workflow workloads, which are priced per step (`messages` counts steps: each context.run and
   * context.sleep): the runs, their steps, and the figures per million runs.
   */
  per_run?: {
    runs: number;
    steps_per_run: number;
    usd_per_million_runs: number;
    usd_per_million_runs_at_aws_latency: number;
  };
  wall_ms: number;
  /**
   * US dollars per million delivered messages, by service, and the total; `lambda_at_aws_latency` and
   * `total_at_aws_latency` redo the Lambda part with the emulators' latency replaced by AWS's (assumed).
   */
  per_million: ServiceDollars & {
    total: number;
    lambda_at_aws_latency: number;
    total_at_aws_latency: number;
    /**
     * The total with the same DynamoDB request units billed as provisioned capacity (`tableCapacity`) used at
     * PROVISIONED_UTILIZATION on average: a model of a steady load, not a measurement of auto scaling.
     */
    total_with_provisioned_capacity: number;
    /**
     * The total with the producer calling the Function URL (`rawPathEndpoint`) instead of API Gateway: without
     * the HTTP API's request charge and its access log, the rest unchanged. A model, not a measurement.
     */
    total_via_function_url: number;
  };
  counts: {
    /** Every AWS request by who made it ("lambda": Herald's code; "platform": ESM poller, Scheduler target). */
    requests: Record<string, number>;
    api_gateway: { requests: number; metered_requests: number };
    lambda: Record<
      "api" | "deliver",
      { invocations: number; billed_ms: number; gb_seconds: number; avg_ms: number; avg_ms_at_aws_latency: number }
    >;
    /** Records per delivery invocation (the event source mapping's batches, as the emulated poller formed them). */
    avg_records_per_delivery_batch: number;
    dynamodb: {
      read_units: number;
      write_units: number;
      /** Capacity units per target: the table and each GSI. */
      by_target: Record<string, { read_units: number; write_units: number }>;
      /** Failed condition checks report no consumed capacity: counted as 1 WRU each (estimate, included above). */
      conditional_check_failures: number;
      /** Net growth of stored bytes (items + 100 B overhead, per table and GSI entry) during the workload. */
      stored_bytes: number;
      /** Of stored_bytes, the workflow step log's, kept a year past the retention (priced so). */
      step_log_stored_bytes?: number;
      storage_gb_months: number;
    };
    sqs: {
      billed_requests: number;
      billed_requests_fifo: number;
      /** Empty receives of the emulated poller: not billed here (see notes: idle polling is in the idle cost). */
      empty_receives_excluded: number;
      payload_bytes: number;
    };
    scheduler: { api_calls: Record<string, number>; invocations: number };
    secrets_manager: Record<string, number>;
    s3: { put_class: number; get_class: number; put_bytes: number };
    logs: {
      function_bytes: number;
      function_events: number;
      platform_bytes: number;
      access_log_bytes: number;
      /** All of the above plus LOG_EVENT_OVERHEAD_BYTES per event. */
      billed_bytes: number;
      emf_lines: number;
    };
  };
  /** The bill line by line (service and operation), largest first; the lines add up to per_million.total. */
  cost_lines: CostLine[];
  per_delivered: {
    write_units: number;
    read_units: number;
    sqs_billed_requests: number;
    lambda_invocations: number;
    log_bytes: number;
    stored_bytes: number;
  };
}

export interface IdleItem {
  item: string;
  quantity: number;
  unit_usd: number;
  monthly_usd: number;
  note: string;
}

export interface Target {
  target: number;
  actual: number;
  met: boolean;
  actual_at_aws_latency: number;
  met_at_aws_latency: boolean;
}

export interface AwsCostResult {
  prices_date: string;
  quick: boolean;
  /** Messages each workload publishes (workflow: runs, each of WORKFLOW_STEPS steps). */
  messages_per_workload: Record<WorkloadName, number>;
  /** US dollars per million messages delivered (Lambda billed on the measured, emulated durations). */
  cost_per_million: Record<WorkloadName, number>;
  /** The same with one message per delivery batch (a trickle), measured in a second pass (workloads_trickle). */
  cost_per_million_trickle: Record<WorkloadName, number>;
  /** The same with each Lambda invocation's emulator waits replaced by assumed AWS latency. */
  cost_per_million_at_aws_latency: Record<WorkloadName, number>;
  /** Steady load with the table on provisioned capacity (`tableCapacity`), modelled: see per_million. */
  cost_per_million_provisioned_capacity: Record<WorkloadName, number>;
  /** Steady load with producers on the Function URL (`rawPathEndpoint`), modelled: see per_million. */
  cost_per_million_via_function_url: Record<WorkloadName, number>;
  /** QStash pay-as-you-go: $1 per 100K messages. */
  qstash_per_million: number;
  /** US dollars per month for a deployed default stack (with its dashboard) and no traffic (idle_items). */
  idle_per_month: number;
  /** The same as idle_per_month (the default stack has the dashboard); kept for earlier results' readers. */
  idle_per_month_with_dashboard: number;
  /** Without the dashboard (`dashboard: false`): a dashboard is $3 a month past an account's free three. */
  idle_per_month_without_dashboard: number;
  /**
   * Secrets Manager's reads, priced apart from the workloads: a warm container reads the secret once a
   * minute, whatever its traffic (since 2026-12-04; before, a run's reads were in the workload they fell in).
   */
  secrets_manager_per_warm_container_month: number;
  idle_items: IdleItem[];
  targets: {
    idle_per_month: { target: number; actual: number; met: boolean };
    /** Issue 16: at most workloadTargetUsd(name) per million for each workload, steady and at a trickle. */
    per_workload: Record<TargetedWorkload, Target & { actual_trickle: number; met_trickle: boolean }>;
  };
  stack: {
    lambda_memory_mb: { api: number; deliver: number };
    retention_days: number;
    log_retention_days: number;
    custom_metrics: string[];
  };
  workloads: Record<WorkloadName, WorkloadResult>;
  /** The same workloads with the event source mapping's receives capped at one message (one per batch). */
  workloads_trickle: Record<WorkloadName, WorkloadResult>;
  duration_ms: number;
  notes: string[];
}
