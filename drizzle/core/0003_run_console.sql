-- Events get a per-run position in commit order (seq); existing rows are numbered in id order, which is
-- the order readers have used so far, and each run's counter continues from its last event.
ALTER TABLE "event_logs" ADD COLUMN "seq" integer;--> statement-breakpoint
UPDATE "event_logs" e SET "seq" = s."seq" FROM (SELECT "id", row_number() OVER (PARTITION BY "run_id" ORDER BY "id") AS "seq" FROM "event_logs") s WHERE e."id" = s."id";--> statement-breakpoint
ALTER TABLE "event_logs" ALTER COLUMN "seq" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "node_runs" ADD COLUMN "reused" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "event_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "runs" r SET "event_seq" = m."seq" FROM (SELECT "run_id", max("seq") AS "seq" FROM "event_logs" GROUP BY "run_id") m WHERE r."id" = m."run_id";--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "replay_of" uuid;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "span_links" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_replay_of_runs_id_fk" FOREIGN KEY ("replay_of") REFERENCES "public"."runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "event_logs_run_seq_idx" ON "event_logs" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "runs_replay_of_idx" ON "runs" USING btree ("replay_of") WHERE "runs"."replay_of" is not null;
