CREATE TABLE "releases" (
	"id" text PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"model" text NOT NULL,
	"cohort" text NOT NULL,
	"window" text,
	"created_by" text NOT NULL,
	"created_by_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"withdrawn_at" bigint
);
--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "releases_model" ON "releases" USING btree ("model","withdrawn_at");