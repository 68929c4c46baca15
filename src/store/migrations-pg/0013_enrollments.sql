CREATE TABLE "enrollment_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"model" text NOT NULL,
	"size" bigint NOT NULL,
	"server_id" text NOT NULL,
	"server_address" text NOT NULL,
	"auth_type" text NOT NULL,
	"claim_name" text,
	"claim_secret_sealed" text,
	"claim_secret_nonce" text,
	"claim_server_secret_sealed" text,
	"claim_server_secret_nonce" text,
	"subscriber_node" text,
	"created_by" text NOT NULL,
	"created_by_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"exported_at" bigint,
	"exported_by" text
);
--> statement-breakpoint
CREATE TABLE "enrollment_devices" (
	"device_id" text PRIMARY KEY NOT NULL,
	"batch_id" text NOT NULL,
	"state" text NOT NULL,
	"pending_secret_sealed" text,
	"pending_secret_nonce" text,
	"pending_server_secret_sealed" text,
	"pending_server_secret_nonce" text,
	"subscriber_identity" text,
	"enrolled_at" bigint,
	"rotations" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "enrollment_devices" ADD CONSTRAINT "enrollment_devices_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrollment_devices" ADD CONSTRAINT "enrollment_devices_batch_id_enrollment_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."enrollment_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "enrollment_batches_claim" ON "enrollment_batches" USING btree ("claim_name");--> statement-breakpoint
CREATE INDEX "enrollment_batches_model" ON "enrollment_batches" USING btree ("model");--> statement-breakpoint
CREATE INDEX "enrollment_devices_batch" ON "enrollment_devices" USING btree ("batch_id","device_id");