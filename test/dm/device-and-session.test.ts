// A DM message reads its device and the session it names in one statement
// (findDeviceAndSession): by RespURI token whichever session has that id, else the device's
// open session under the SessionID. identify.ts refuses a token of another device or
// SessionID, so the read must hand it what the token names, and must not offer an ended
// session or another SessionID's as the open one.
import { describe, expect, it } from 'vitest';
import { type DmSessionRow, findDeviceAndSession, insertDevice, insertSession } from '../../src/store/queries/devices.ts';
import { enrollmentOf, insertBatch, insertEnrollments } from '../../src/store/queries/enrollments.ts';
import { openTestStore } from '../support/store.ts';

function session(id: string, deviceId: string, sessionId: string, state: 'open' | 'ended'): DmSessionRow {
  return { id, deviceId, sessionId, state, clientMsgId: 1, serverMsgId: 1, awaiting: '[]', pending: '[]', lastReply: null, lastReplyType: null, maxMsgSize: 4000, maxObjSize: null, receivingObject: true, authNonce: null, serverAuthenticated: false, inventoryChecked: true, createdAt: 1, updatedAt: 2, expiresAt: 3 };
}

describe('the device and the session a DM message names, in one read', async () => {
  const store = await openTestStore();
  await store.transaction(async (tx) => {
    for (const id of ['dev-a', 'dev-b', 'dev-quiet']) await insertDevice(tx, { id, model: 'm', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
    await insertSession(tx, session('dms_a_open', 'dev-a', '7', 'open'));
    await insertSession(tx, session('dms_a_ended', 'dev-a', '8', 'ended'));
    await insertSession(tx, session('dms_b_open', 'dev-b', '7', 'open'));
  });

  it('gives the device with its open session under the SessionID, columns decoded as the row type says', async () => {
    const found = await findDeviceAndSession(store, 'dev-a', { sessionId: '7' });
    expect(found?.device).toMatchObject({ id: 'dev-a', model: 'm', firmwareVersion: '1.0', lastSeen: null });
    expect(found?.session).toEqual(session('dms_a_open', 'dev-a', '7', 'open'));
  });

  it('offers no session for an ended one, another SessionID, or a device without sessions', async () => {
    expect(await findDeviceAndSession(store, 'dev-a', { sessionId: '8' })).toMatchObject({ device: { id: 'dev-a' }, session: undefined });
    expect(await findDeviceAndSession(store, 'dev-a', { sessionId: '9' })).toMatchObject({ device: { id: 'dev-a' }, session: undefined });
    expect(await findDeviceAndSession(store, 'dev-quiet', { sessionId: '7' })).toMatchObject({ device: { id: 'dev-quiet' }, session: undefined });
  });

  it('by token gives the session the token names, also an ended one or another device s, for the caller to refuse', async () => {
    expect((await findDeviceAndSession(store, 'dev-a', { token: 'dms_a_ended' }))?.session).toMatchObject({ id: 'dms_a_ended', state: 'ended' });
    expect(await findDeviceAndSession(store, 'dev-a', { token: 'dms_b_open' })).toMatchObject({ device: { id: 'dev-a' }, session: { id: 'dms_b_open', deviceId: 'dev-b' } });
    expect(await findDeviceAndSession(store, 'dev-a', { token: 'dms_nothing' })).toMatchObject({ device: { id: 'dev-a' }, session: undefined });
  });

  it('gives nothing for an unknown device, whatever the session', async () => {
    expect(await findDeviceAndSession(store, 'dev-nobody', { sessionId: '7' })).toBeUndefined();
    expect(await findDeviceAndSession(store, 'dev-nobody', { token: 'dms_a_open' })).toBeUndefined();
  });

  it('reads the same inside a transaction', async () => {
    const found = await store.transaction((tx) => findDeviceAndSession(tx, 'dev-b', { sessionId: '7' }));
    expect(found?.session?.id).toBe('dms_b_open');
  });
  it('reads the device s enrollment with it for a message that may start a session by SessionID: the batch s row as first contact reads it, null for a device no batch enrolled', async () => {
    await store.transaction(async (tx) => {
      await insertDevice(tx, { id: 'dev-enrolled', model: 'm', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
      await insertBatch(tx, { id: 'enb-1', name: 'batch', model: 'm', size: 1, serverId: 'fota', serverAddress: 'https://fota.example/dm', authType: 'md5', claimName: 'claim-1', subscriberNode: './DevDetail/Ext/IMSI', createdBy: 'p', createdByName: 'P', createdAt: 1 });
      await insertEnrollments(tx, [{ deviceId: 'dev-enrolled', batchId: 'enb-1', state: 'awaiting-claim' }]);
    });
    const enrolled = await findDeviceAndSession(store, 'dev-enrolled', { sessionId: '7' }, { withEnrollment: true });
    expect(enrolled?.enrollment).toEqual(await enrollmentOf(store, 'dev-enrolled'));
    expect(enrolled?.enrollment).toMatchObject({ enrollment: { deviceId: 'dev-enrolled', state: 'awaiting-claim', rotations: 0 }, batch: { id: 'enb-1', claimName: 'claim-1', subscriberNode: './DevDetail/Ext/IMSI', exportedAt: null } });
    const plain = await findDeviceAndSession(store, 'dev-a', { sessionId: '7' }, { withEnrollment: true });
    expect(plain).toMatchObject({ device: { id: 'dev-a' }, session: { id: 'dms_a_open' }, enrollment: null });
    expect(plain?.session).toEqual(session('dms_a_open', 'dev-a', '7', 'open'));
    // By token a message continues a session: first contact reads the enrollment itself when it must.
    expect((await findDeviceAndSession(store, 'dev-enrolled', { token: 'dms_a_open' }, { withEnrollment: true }))?.enrollment).toBeUndefined();
    expect(await findDeviceAndSession(store, 'dev-nobody', { sessionId: '7' }, { withEnrollment: true })).toBeUndefined();
    expect(await findDeviceAndSession(store, 'dev-nobody', { token: 'dms_a_open' }, { withEnrollment: true })).toBeUndefined();
  });
});
