CREATE TABLE "held_nodes" (
	"run_id" uuid NOT NULL,
	"node_id" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"job" jsonb NOT NULL,
	"held_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "held_nodes_run_id_node_id_pk" PRIMARY KEY("run_id","node_id")
);
--> statement-breakpoint
CREATE TABLE "inflight_nodes" (
	"run_id" uuid NOT NULL,
	"node_id" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"since" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inflight_nodes_run_id_node_id_pk" PRIMARY KEY("run_id","node_id")
);
--> statement-breakpoint
CREATE TABLE "model_prices" (
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"match" text DEFAULT 'exact' NOT NULL,
	"effective_from" timestamp (3) with time zone NOT NULL,
	"input" numeric(14, 6) NOT NULL,
	"output" numeric(14, 6) NOT NULL,
	"cached_input" numeric(14, 6),
	"cache_write" numeric(14, 6),
	"reasoning" numeric(14, 6),
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_prices_provider_model_match_effective_from_pk" PRIMARY KEY("provider","model","match","effective_from")
);
--> statement-breakpoint
CREATE TABLE "tenant_limits" (
	"tenant_id" uuid NOT NULL,
	"scope" text NOT NULL,
	"daily_spend_usd" numeric(20, 6),
	"monthly_spend_usd" numeric(20, 6),
	"daily_tokens" bigint,
	"monthly_tokens" bigint,
	"runs_per_minute" integer,
	"max_concurrent_runs" integer,
	"max_inflight_nodes" integer,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_limits_tenant_id_scope_pk" PRIMARY KEY("tenant_id","scope")
);
--> statement-breakpoint
CREATE TABLE "tenant_usage_daily" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"spend_usd" numeric(24, 10) DEFAULT '0' NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "tenant_usage_daily_tenant_id_day_pk" PRIMARY KEY("tenant_id","day")
);
--> statement-breakpoint
ALTER TABLE "model_cost_logs" ALTER COLUMN "run_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ALTER COLUMN "node_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ALTER COLUMN "attempt" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ADD COLUMN "ingestion_id" uuid;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ADD COLUMN "status" text DEFAULT 'settled' NOT NULL;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ADD COLUMN "attempt_lost" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "held_nodes" ADD CONSTRAINT "held_nodes_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inflight_nodes" ADD CONSTRAINT "inflight_nodes_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_limits" ADD CONSTRAINT "tenant_limits_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_usage_daily" ADD CONSTRAINT "tenant_usage_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "held_nodes_tenant_held_idx" ON "held_nodes" USING btree ("tenant_id","held_at");--> statement-breakpoint
CREATE INDEX "inflight_nodes_tenant_idx" ON "inflight_nodes" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "model_cost_logs_ingestion_call_idx" ON "model_cost_logs" USING btree ("ingestion_id","call_index") WHERE "model_cost_logs"."ingestion_id" is not null;--> statement-breakpoint
ALTER TABLE "model_cost_logs" ADD CONSTRAINT "model_cost_logs_owner_check" CHECK (("model_cost_logs"."run_id" is not null and "model_cost_logs"."node_id" is not null and "model_cost_logs"."attempt" is not null) or "model_cost_logs"."ingestion_id" is not null);--> statement-breakpoint
-- Budgets count what was already spent: today's and this month's usage from the existing ledger rows.
INSERT INTO "tenant_usage_daily" ("tenant_id", "day", "spend_usd", "tokens")
SELECT "tenant_id", ("created_at" AT TIME ZONE 'UTC')::date, coalesce(sum("cost_usd"), 0), sum("input_tokens" + "output_tokens")
FROM "model_cost_logs" WHERE "tenant_id" IN (SELECT "id" FROM "tenants")
GROUP BY 1, 2
ON CONFLICT DO NOTHING;
