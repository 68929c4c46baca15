ALTER TABLE "campaigns" ADD COLUMN "start_bounds" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "start_cursor" text;