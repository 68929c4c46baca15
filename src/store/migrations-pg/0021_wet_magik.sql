ALTER TABLE "device_queries" ADD COLUMN "canceled_at" bigint;--> statement-breakpoint
ALTER TABLE "device_queries" ADD COLUMN "canceled_reason" text;--> statement-breakpoint
CREATE INDEX "device_queries_open" ON "device_queries" USING btree ("created_at") WHERE canceled_at IS NULL;