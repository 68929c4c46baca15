// The name an audit event shows for who acted. A person's name is recorded with the event
// (auditActor(principal)); the server's own parts get a name a reader understands, so no
// timeline, audit list or webhook shows a blank actor or a bare code like "dm". The keys
// are the actor strings the server records: ENGINE_ACTOR (campaigns/policy.ts),
// SYSTEM_ACTOR (tokens/tokens.ts), PROFILE_ACTOR (profiles/session-work.ts), 'dm' and
// 'download'; test/store/actor-names.test.ts checks each constant has a name here.
import { eq } from 'drizzle-orm';
import type { Tx } from '../store.ts';

const SERVER_ACTOR_NAMES: Readonly<Record<string, string>> = {
  'campaign-engine': 'fota (automatic)',
  system: 'fota (server)',
  dm: 'fota (device management)',
  download: 'fota (downloads)',
  profiles: 'fota (profiles)',
};

/** The name of a part of the server that acts by itself, or undefined for anyone else. */
export function serverActorName(actor: string): string | undefined {
  return Object.hasOwn(SERVER_ACTOR_NAMES, actor) ? SERVER_ACTOR_NAMES[actor] : undefined;
}

/**
 * The name to record for an actor whose caller gave none: the server part's name, or a
 * person's display name looked up in the same transaction (a campaign step taken on a
 * person's behalf, say), or the actor itself when it is neither.
 */
export async function actorNameFor(tx: Tx, actor: string): Promise<string> {
  const server = serverActorName(actor);
  if (server !== undefined) return server;
  if (!actor.startsWith('psn_')) return actor;
  const { people } = tx.t;
  const [person] = await tx.q.select({ name: people.displayName }).from(people).where(eq(people.id, actor));
  return person?.name ?? actor;
}

/** What a reader sees for an event recorded before every event carried a name. */
export function shownActorName(actor: string, recorded: string | null): string {
  return recorded ?? serverActorName(actor) ?? actor;
}
