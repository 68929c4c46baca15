ALTER TABLE "profile_applications" ADD COLUMN "failure_reason" text;--> statement-breakpoint
ALTER TABLE "profile_applications" ADD COLUMN "attempts" bigint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_devices" ADD COLUMN "pending_subscriber_identity" text;