CREATE TABLE "experiment_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"experiment_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"job_id" text NOT NULL,
	"name" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"artifacts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "experiments" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tuning_searches" (
	"job_id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"strategy" text NOT NULL,
	"search" jsonb NOT NULL,
	"rungs" jsonb NOT NULL,
	"rung" integer DEFAULT 0 NOT NULL,
	"phase" text DEFAULT 'searching' NOT NULL,
	"finishing_at" timestamp with time zone,
	"best_trial_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tuning_trials" (
	"id" text PRIMARY KEY NOT NULL,
	"search_id" text NOT NULL,
	"number" integer NOT NULL,
	"config_index" integer NOT NULL,
	"rung" integer DEFAULT 0 NOT NULL,
	"params" jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"job_id" text,
	"metric" double precision,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "experiment_runs" ADD CONSTRAINT "experiment_runs_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "experiment_runs" ADD CONSTRAINT "experiment_runs_job_id_training_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."training_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "experiments" ADD CONSTRAINT "experiments_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tuning_searches" ADD CONSTRAINT "tuning_searches_job_id_training_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."training_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tuning_trials" ADD CONSTRAINT "tuning_trials_search_id_tuning_searches_job_id_fk" FOREIGN KEY ("search_id") REFERENCES "public"."tuning_searches"("job_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tuning_trials" ADD CONSTRAINT "tuning_trials_job_id_training_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."training_jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "experiment_runs_job_idx" ON "experiment_runs" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "experiment_runs_experiment_idx" ON "experiment_runs" USING btree ("experiment_id","created_at","id");--> statement-breakpoint
CREATE INDEX "experiment_runs_owner_idx" ON "experiment_runs" USING btree ("owner_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "experiments_owner_name_idx" ON "experiments" USING btree ("owner_id",lower("name"));--> statement-breakpoint
CREATE INDEX "experiments_created_idx" ON "experiments" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "tuning_trials_number_idx" ON "tuning_trials" USING btree ("search_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "tuning_trials_job_idx" ON "tuning_trials" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "tuning_trials_state_idx" ON "tuning_trials" USING btree ("search_id","state");