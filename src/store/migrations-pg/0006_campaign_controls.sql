CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"webhook_id" text NOT NULL,
	"event" text NOT NULL,
	"body" text NOT NULL,
	"state" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"delivered_at" bigint
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"events" text,
	"secret_sealed" text NOT NULL,
	"secret_nonce" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "start_at" bigint;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "scheduled_by" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "scheduled_by_name" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "forced_reason" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "mode" text DEFAULT 'install' NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "bandwidth_bytes_per_second" bigint;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due" ON "webhook_deliveries" USING btree ("state","next_attempt_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook" ON "webhook_deliveries" USING btree ("webhook_id");