// What the AWS cost bench reports: its workloads and the shape of its result (bench/results/*.json "aws").

export const WORKLOADS = ["single", "single_lean", "batch100", "delay2h", "fifo", "fanout3", "retry1"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

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
  /** 2xx deliveries counted at the sink: what the per-million figures divide by. */
  delivered: number;
  wall_ms: number;
  /**
   * US dollars per million delivered messages, by service, and the total; `lambda_at_aws_latency` and
   * `total_at_aws_latency` redo the Lambda part with the emulators' latency replaced by AWS's (assumed).
   */
  per_million: ServiceDollars & { total: number; lambda_at_aws_latency: number; total_at_aws_latency: number };
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
  messages_per_workload: Record<WorkloadName, number>;
  /** US dollars per million messages delivered (Lambda billed on the measured, emulated durations). */
  cost_per_million: Record<WorkloadName, number>;
  /** The same with each Lambda invocation's emulator waits replaced by assumed AWS latency. */
  cost_per_million_at_aws_latency: Record<WorkloadName, number>;
  /** QStash pay-as-you-go: $1 per 100K messages. */
  qstash_per_million: number;
  /** US dollars per month for a deployed default stack (with its dashboard) and no traffic (idle_items). */
  idle_per_month: number;
  /** The same as idle_per_month (the default stack has the dashboard); kept for earlier results' readers. */
  idle_per_month_with_dashboard: number;
  /** Without the dashboard (`dashboard: false`): a dashboard is $3 a month past an account's free three. */
  idle_per_month_without_dashboard: number;
  idle_items: IdleItem[];
  targets: {
    single_first_try: Target;
    batch100: Target;
    idle_per_month: { target: number; actual: number; met: boolean };
  };
  stack: {
    lambda_memory_mb: { api: number; deliver: number };
    retention_days: number;
    log_retention_days: number;
    custom_metrics: string[];
  };
  workloads: Record<WorkloadName, WorkloadResult>;
  duration_ms: number;
  notes: string[];
}
