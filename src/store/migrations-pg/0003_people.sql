CREATE TABLE "people" (
	"id" text PRIMARY KEY NOT NULL,
	"login" text NOT NULL,
	"display_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "people_login_unique" UNIQUE("login")
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "actor_name" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "token_id" text;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "person_id" text;--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tokens_person" ON "tokens" USING btree ("person_id");