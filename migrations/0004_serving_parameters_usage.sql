CREATE TABLE "inference_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"request_id" text NOT NULL,
	"model_id" text NOT NULL,
	"model_name" text NOT NULL,
	"version" integer,
	"endpoint" text NOT NULL,
	"user_id" text,
	"key_id" text,
	"status" text NOT NULL,
	"error_code" text,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"rows" integer DEFAULT 0 NOT NULL,
	"latency_ms" real NOT NULL,
	"ttft_ms" real
);
--> statement-breakpoint
CREATE TABLE "model_parameters" (
	"model_id" text PRIMARY KEY NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
ALTER TABLE "model_parameters" ADD CONSTRAINT "model_parameters_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_parameters" ADD CONSTRAINT "model_parameters_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inference_records_at_idx" ON "inference_records" USING btree ("at");--> statement-breakpoint
CREATE INDEX "inference_records_model_at_idx" ON "inference_records" USING btree ("model_id","at");--> statement-breakpoint
CREATE INDEX "inference_records_user_at_idx" ON "inference_records" USING btree ("user_id","at");