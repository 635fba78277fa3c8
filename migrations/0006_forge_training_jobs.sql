CREATE TABLE "training_job_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"level" text DEFAULT 'info' NOT NULL,
	"message" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_job_metrics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"name" text NOT NULL,
	"step" integer NOT NULL,
	"value" double precision NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"owner_id" text NOT NULL,
	"spec" jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"progress" real DEFAULT 0 NOT NULL,
	"eta_seconds" integer,
	"message" text DEFAULT '' NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"timeout_seconds" integer NOT NULL,
	"deadline_at" timestamp with time zone,
	"error" jsonb,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"attempt_started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "training_workers" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"state" text NOT NULL,
	"current_job_id" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "training_job_logs" ADD CONSTRAINT "training_job_logs_job_id_training_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."training_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_job_metrics" ADD CONSTRAINT "training_job_metrics_job_id_training_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."training_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "training_job_logs_job_idx" ON "training_job_logs" USING btree ("job_id","id");--> statement-breakpoint
CREATE INDEX "training_job_metrics_job_idx" ON "training_job_metrics" USING btree ("job_id","name","step");--> statement-breakpoint
CREATE INDEX "training_jobs_claim_idx" ON "training_jobs" USING btree ("priority" DESC NULLS LAST,"created_at","id") WHERE "training_jobs"."state" in ('queued', 'retrying');--> statement-breakpoint
CREATE INDEX "training_jobs_running_idx" ON "training_jobs" USING btree ("lease_expires_at") WHERE "training_jobs"."state" = 'running';--> statement-breakpoint
CREATE INDEX "training_jobs_owner_idx" ON "training_jobs" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "training_jobs_created_idx" ON "training_jobs" USING btree ("created_at","id");