ALTER TABLE "campaigns" ADD COLUMN "start_at" bigint;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "scheduled_by" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "scheduled_by_name" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "forced_reason" text;