ALTER TABLE "dm_operations" ADD COLUMN "gate_id" text;--> statement-breakpoint
ALTER TABLE "confirmation_policies" ADD COLUMN "each_step" boolean DEFAULT false NOT NULL;