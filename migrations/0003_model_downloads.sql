CREATE TABLE "model_downloads" (
	"id" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"message" text DEFAULT '' NOT NULL,
	"repo" text NOT NULL,
	"revision" text NOT NULL,
	"commit" text,
	"model_format" text NOT NULL,
	"target_name" text NOT NULL,
	"task" text NOT NULL,
	"files" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"bytes_done" bigint DEFAULT 0 NOT NULL,
	"bytes_total" bigint DEFAULT 0 NOT NULL,
	"speed_bps" bigint DEFAULT 0 NOT NULL,
	"eta_seconds" integer,
	"model_id" text,
	"version" integer,
	"error" jsonb,
	"token_sealed" text,
	"share_key" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "model_downloads_active_share_idx" ON "model_downloads" USING btree ("share_key") WHERE "model_downloads"."status" in ('queued', 'downloading', 'verifying');--> statement-breakpoint
CREATE INDEX "model_downloads_owner_idx" ON "model_downloads" USING btree ("created_by","created_at");