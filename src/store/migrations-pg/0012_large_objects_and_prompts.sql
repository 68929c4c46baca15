CREATE TABLE "dm_object_chunks" (
	"session_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"uri" text NOT NULL,
	"declared_size" bigint NOT NULL,
	"command" text NOT NULL,
	"msg_ref" bigint NOT NULL,
	"cmd_ref" bigint NOT NULL,
	"get_cmd_ref" bigint,
	"get_msg_ref" bigint,
	"format" text,
	"type" text,
	"bytes" bigint NOT NULL,
	"data" text NOT NULL,
	CONSTRAINT "dm_object_chunks_session_id_seq_pk" PRIMARY KEY("session_id","seq")
);
--> statement-breakpoint
CREATE TABLE "confirmation_policies" (
	"subject_id" text PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"min_seconds" bigint,
	"max_seconds" bigint NOT NULL,
	"default_response" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_prompts" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"subject_id" text NOT NULL,
	"attempt" bigint NOT NULL,
	"code" text NOT NULL,
	"text" text NOT NULL,
	"asked_at" bigint NOT NULL,
	"answered_at" bigint,
	"outcome" text,
	"status_code" bigint,
	"answer" text
);
--> statement-breakpoint
ALTER TABLE "dm_sessions" ADD COLUMN "max_obj_size" bigint;--> statement-breakpoint
ALTER TABLE "dm_sessions" ADD COLUMN "receiving_object" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "user_prompts_subject" ON "user_prompts" USING btree ("subject_id","attempt");