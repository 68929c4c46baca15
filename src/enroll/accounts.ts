// The DM accounts of a batch's devices: fresh secrets, sealed at rest, and the DmAccount
// shape the bootstrap documents write. One home for how a batch's settings become DMAcc
// values, for the export and for the credentials a claim is replaced with.
import { randomBytes } from 'node:crypto';
import type { AccountAuthType, DmAccount } from '../omadm/provisioning/dm-account.ts';
import type { KeyVault } from '../signing/vault.ts';
import type { EnrollmentBatchRow } from '../store/queries/enrollments.ts';

export const ACCOUNT_AUTH_TYPE: Record<EnrollmentBatchRow['authType'], AccountAuthType> = { md5: 'DIGEST', basic: 'BASIC', hmac: 'HMAC' };

/** 144 random bits, URL-safe: a secret no one types. */
export function newSecret(): string {
  return randomBytes(18).toString('base64url');
}

export interface Sealed {
  sealed: string;
  nonce: string;
}

export function seal(vault: KeyVault, secret: string): Sealed {
  return vault.seal(new TextEncoder().encode(secret));
}

export function unseal(vault: KeyVault, sealed: string, nonce: string): string {
  return new TextDecoder().decode(vault.open(sealed, nonce));
}

/** The account a device of `batch` is given, with these credentials. */
export function accountFor(batch: EnrollmentBatchRow, client: { name: string; secret: string }, serverSecret: string): DmAccount {
  return {
    accountId: batch.serverId,
    serverId: batch.serverId,
    name: batch.serverId,
    address: batch.serverAddress,
    authType: ACCOUNT_AUTH_TYPE[batch.authType],
    client,
    server: { name: batch.serverId, secret: serverSecret },
  };
}
