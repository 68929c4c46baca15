CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"details" text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "revoked_console_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"manufacturer_id" text,
	"token_hash" text NOT NULL,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "builds" (
	"id" text PRIMARY KEY NOT NULL,
	"model_id" text NOT NULL,
	"version" text NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"security_version" bigint DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"failure_reason" text,
	"created_at" bigint NOT NULL,
	"ready_at" bigint
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"source_build_id" text,
	"state" text NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"lease_owner" text,
	"lease_until" bigint,
	"package_id" text,
	"note" text,
	"created_at" bigint NOT NULL,
	"finished_at" bigint
);
--> statement-breakpoint
CREATE TABLE "packages" (
	"id" text PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"source_build_id" text,
	"kind" text NOT NULL,
	"from_version" text,
	"to_version" text NOT NULL,
	"file_sha256" text NOT NULL,
	"file_size" bigint NOT NULL,
	"payload_sha256" text NOT NULL,
	"payload_size" bigint NOT NULL,
	"payload_offset" bigint NOT NULL,
	"envelope" text NOT NULL,
	"keyid" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "campaign_stages" (
	"campaign_id" text NOT NULL,
	"idx" bigint NOT NULL,
	"percent" double precision NOT NULL,
	"requires_approval" boolean DEFAULT false NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"size" bigint DEFAULT 0 NOT NULL,
	"started_at" bigint,
	"threshold_met_at" bigint,
	"approved_by" text,
	"approved_by_name" text,
	"approved_at" bigint,
	"accepted_failed" bigint DEFAULT 0 NOT NULL,
	"accepted_results" bigint DEFAULT 0 NOT NULL,
	"forced" boolean DEFAULT false NOT NULL,
	CONSTRAINT "campaign_stages_campaign_id_idx_pk" PRIMARY KEY("campaign_id","idx")
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"build_id" text NOT NULL,
	"model" text NOT NULL,
	"cohort" text NOT NULL,
	"state" text NOT NULL,
	"current_stage" bigint DEFAULT 0 NOT NULL,
	"success_threshold" double precision NOT NULL,
	"failure_threshold" double precision NOT NULL,
	"min_sample" bigint NOT NULL,
	"soak_ms" bigint DEFAULT 0 NOT NULL,
	"timeout_ms" bigint NOT NULL,
	"four_eyes" boolean DEFAULT false NOT NULL,
	"dynamic" boolean DEFAULT false NOT NULL,
	"window" text,
	"paused_reason" text,
	"pause_kind" text,
	"cohort_size" bigint DEFAULT 0 NOT NULL,
	"already_current" bigint DEFAULT 0 NOT NULL,
	"busy" bigint DEFAULT 0 NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"started_at" bigint,
	"finished_at" bigint,
	"updated_at" bigint NOT NULL,
	"join_scan_at" bigint
);
--> statement-breakpoint
CREATE TABLE "notification_queue" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"campaign_id" text NOT NULL,
	"enqueued_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"build_id" text NOT NULL,
	"package_id" text,
	"state" text NOT NULL,
	"result_code" bigint,
	"bytes_served" bigint DEFAULT 0 NOT NULL,
	"history" text DEFAULT '[]' NOT NULL,
	"mode" text DEFAULT 'downloadAndUpdate' NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"not_before" bigint,
	"campaign_id" text,
	"stage" bigint,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"firmware_version" text,
	"tags" text DEFAULT '[]' NOT NULL,
	"created_at" bigint NOT NULL,
	"last_seen" bigint,
	"manufacturer" text,
	"inventory" text DEFAULT '{}' NOT NULL,
	"auth_type" text DEFAULT 'md5' NOT NULL,
	"auth_name" text DEFAULT '' NOT NULL,
	"auth_secret_sealed" text DEFAULT '' NOT NULL,
	"auth_secret_nonce" text DEFAULT '' NOT NULL,
	"client_nonce" text,
	"server_nonce" text,
	"server_secret_sealed" text,
	"server_secret_nonce" text,
	"auth_failures" bigint DEFAULT 0 NOT NULL,
	"auth_locked_until" bigint,
	"webhook_url" text
);
--> statement-breakpoint
CREATE TABLE "dm_operations" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"command" text NOT NULL,
	"uri" text NOT NULL,
	"data" text,
	"format" text,
	"type" text,
	"correlator" text,
	"state" text NOT NULL,
	"status_code" bigint,
	"result" text,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"sent_at" bigint,
	"done_at" bigint
);
--> statement-breakpoint
CREATE TABLE "dm_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"session_id" text NOT NULL,
	"state" text NOT NULL,
	"client_msg_id" bigint NOT NULL,
	"server_msg_id" bigint NOT NULL,
	"awaiting" text DEFAULT '[]' NOT NULL,
	"pending" text DEFAULT '[]' NOT NULL,
	"last_reply" text,
	"last_reply_type" text,
	"max_msg_size" bigint,
	"auth_nonce" text,
	"server_authenticated" boolean DEFAULT false NOT NULL,
	"inventory_checked" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "manufacturers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "manufacturers_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" text PRIMARY KEY NOT NULL,
	"manufacturer_id" text NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "models_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"manufacturer_id" text NOT NULL,
	"keyid" text NOT NULL,
	"public_key" text NOT NULL,
	"sealed_secret_key" text NOT NULL,
	"nonce" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "signing_keys_keyid_unique" UNIQUE("keyid")
);
--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "builds" ADD CONSTRAINT "builds_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_source_build_id_builds_id_fk" FOREIGN KEY ("source_build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "packages" ADD CONSTRAINT "packages_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "packages" ADD CONSTRAINT "packages_source_build_id_builds_id_fk" FOREIGN KEY ("source_build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_stages" ADD CONSTRAINT "campaign_stages_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_package_id_packages_id_fk" FOREIGN KEY ("package_id") REFERENCES "public"."packages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dm_operations" ADD CONSTRAINT "dm_operations_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dm_sessions" ADD CONSTRAINT "dm_sessions_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_subject" ON "audit_events" USING btree ("subject");--> statement-breakpoint
CREATE INDEX "audit_at" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "revoked_console_sessions_expires" ON "revoked_console_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "builds_model_version" ON "builds" USING btree ("model_id","version");--> statement-breakpoint
CREATE INDEX "jobs_state" ON "jobs" USING btree ("state","created_at");--> statement-breakpoint
CREATE INDEX "jobs_build" ON "jobs" USING btree ("build_id");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_build_source" ON "jobs" USING btree ("build_id","source_build_id");--> statement-breakpoint
CREATE INDEX "packages_build" ON "packages" USING btree ("build_id");--> statement-breakpoint
CREATE UNIQUE INDEX "packages_build_source" ON "packages" USING btree ("build_id","source_build_id");--> statement-breakpoint
CREATE INDEX "campaigns_state" ON "campaigns" USING btree ("state");--> statement-breakpoint
CREATE INDEX "deployments_device" ON "deployments" USING btree ("device_id");--> statement-breakpoint
CREATE INDEX "deployments_state" ON "deployments" USING btree ("state");--> statement-breakpoint
CREATE INDEX "deployments_campaign_stage_state" ON "deployments" USING btree ("campaign_id","stage","state");--> statement-breakpoint
CREATE INDEX "deployments_campaign_bytes" ON "deployments" USING btree ("campaign_id","bytes_served") WHERE "deployments"."bytes_served" > 0;--> statement-breakpoint
CREATE INDEX "devices_model_version" ON "devices" USING btree ("model","firmware_version");--> statement-breakpoint
CREATE INDEX "dm_operations_device_state" ON "dm_operations" USING btree ("device_id","state");--> statement-breakpoint
CREATE INDEX "dm_sessions_device" ON "dm_sessions" USING btree ("device_id","session_id");--> statement-breakpoint
CREATE INDEX "dm_sessions_expiry" ON "dm_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "signing_keys_manufacturer" ON "signing_keys" USING btree ("manufacturer_id");--> statement-breakpoint
CREATE UNIQUE INDEX "one_active_key" ON "signing_keys" USING btree ("manufacturer_id") WHERE status = 'active';