// A DM message's footing (what of its device exists at all) decides which reads its plan
// skips, so it must see each part on both dialects (EXISTS is 0/1 on SQLite, a boolean on
// PostgreSQL), and a kept read must give way to a write of the same transaction: the
// deployment a message's own hook creates is the one its next hook acts on.
import { describe, expect, it } from 'vitest';
import { ActiveDeployment } from '../../src/deployments/active.ts';
import { activeDeploymentOf, insertDeployment } from '../../src/store/queries/deployments.ts';
import { claimQueuedOperations, findDeviceAndSession, findOperation, insertDevice, insertOperation, requeueOperations, updateOperation } from '../../src/store/queries/devices.ts';
import { footingAt, footingOf, holds } from '../../src/store/queries/footing.ts';
import { insertApplication } from '../../src/store/queries/profiles.ts';
import { insertScomoDeployment, saveBaseline, saveDeviceApps } from '../../src/store/queries/scomo.ts';
import { openTestStore } from '../support/store.ts';

describe('DM message footing', async () => {
  const store = await openTestStore();
  await store.transaction(async (tx) => {
    for (const id of ['dev-bare', 'dev-full']) await insertDevice(tx, { id, model: id === 'dev-full' ? 'full-model' : 'bare-model', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
  });

  it('shows a device with nothing optional as having nothing', async () => {
    const footing = await store.transaction((tx) => footingOf(tx, 'dev-bare'));
    expect(footing).toMatchObject({ hasActiveDeployment: false, scomo: { baselineSpec: null, apps: undefined, hasOpen: false }, hasQueuedApplications: false, provisioningProfileId: null, hasQueuedOperations: false });
    expect(await store.transaction((tx) => footingOf(tx, 'dev-nobody'))).toBeUndefined();
  });

  it('shows each part a device has', async () => {
    await store.transaction(async (tx) => {
      await insertDeployment(tx, { id: 'dep-1', deviceId: 'dev-full', state: 'scheduled', createdAt: 1, updatedAt: 1 });
      await saveBaseline(tx, { model: 'full-model', spec: '{"components":[]}', updatedBy: 'test', updatedAt: 1 });
      await saveDeviceApps(tx, { deviceId: 'dev-full', components: '{"nodes":[]}', readAt: 5 });
      await insertScomoDeployment(tx, { id: 'scd-1', deviceId: 'dev-full', component: 'app', operation: 'remove', mode: 'downloadInstall', node: 'n1', state: 'scheduled', reason: 'operator', history: '[]', createdBy: 'test', createdAt: 1, updatedAt: 1 });
      await tx.q.insert(tx.t.profiles).values({ id: 'prf-1', name: 'first boot', model: 'full-model', provisioning: true, createdBy: 'test', createdAt: 1 });
      await insertApplication(tx, { id: 'pap-1', deviceId: 'dev-full', profileVersionId: 'pv-1', reason: 'device', state: 'queued', operationIds: '[]', createdBy: 'test', createdAt: 1 });
      await insertOperation(tx, { id: 'op-1', deviceId: 'dev-full', command: 'Get', uri: './DevInfo/Lang', state: 'queued', createdBy: 'test', createdAt: 1 });
    });
    const footing = await store.transaction((tx) => footingOf(tx, 'dev-full'));
    expect(footing).toMatchObject({
      hasActiveDeployment: true,
      scomo: { baselineSpec: '{"components":[]}', apps: { components: '{"nodes":[]}', readAt: 5 }, hasOpen: true },
      hasQueuedApplications: true,
      provisioningProfileId: 'prf-1',
      hasQueuedOperations: true,
    });
  });

  it('counts only what is under way: a finished deployment or SCOMO operation is nothing, a commanded one is open', async () => {
    await store.transaction(async (tx) => {
      await insertDevice(tx, { id: 'dev-done', model: 'bare-model', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
      for (const [id, state] of [['dep-done-1', 'succeeded'], ['dep-done-2', 'failed'], ['dep-done-3', 'canceled']] as const) await insertDeployment(tx, { id, deviceId: 'dev-done', state, createdAt: 1, updatedAt: 1 });
      await insertScomoDeployment(tx, { id: 'scd-done', deviceId: 'dev-done', component: 'app', operation: 'remove', mode: 'downloadInstall', node: 'n1', state: 'succeeded', reason: 'operator', history: '[]', createdBy: 'test', createdAt: 1, updatedAt: 1 });
    });
    expect(await store.transaction((tx) => footingOf(tx, 'dev-done'))).toMatchObject({ hasActiveDeployment: false, scomo: { hasOpen: false } });
    expect(await store.transaction((tx) => activeDeploymentOf(tx, 'dev-done'))).toBeUndefined();
    await store.transaction(async (tx) => {
      await insertDeployment(tx, { id: 'dep-live', deviceId: 'dev-done', state: 'downloading', createdAt: 2, updatedAt: 2 });
      await insertScomoDeployment(tx, { id: 'scd-live', deviceId: 'dev-done', component: 'app', operation: 'remove', mode: 'downloadInstall', node: 'n1', state: 'commanded', reason: 'operator', history: '[]', createdBy: 'test', createdAt: 2, updatedAt: 2 });
    });
    expect(await store.transaction((tx) => footingOf(tx, 'dev-done'))).toMatchObject({ hasActiveDeployment: true, scomo: { hasOpen: true } });
    expect((await store.transaction((tx) => activeDeploymentOf(tx, 'dev-done')))?.id).toBe('dep-live');
  });

  it('holds for a topic only until the transaction writes it', async () => {
    await store.transaction(async (tx) => {
      const footing = await footingOf(tx, 'dev-bare');
      expect(holds(tx, footing, 'operations')).toBe(true);
      await insertOperation(tx, { id: 'op-2', deviceId: 'dev-bare', command: 'Get', uri: './DevInfo/Lang', state: 'queued', createdBy: 'test', createdAt: 1 });
      expect(holds(tx, footing, 'operations')).toBe(false);
      expect(holds(tx, footing, 'deployments')).toBe(true);
      await updateOperation(tx, 'op-2', { state: 'sent' });
    });
  });

  it('reads the deployment under way once, and again after the transaction wrote one', async () => {
    await store.transaction(async (tx) => {
      const footing = await footingOf(tx, 'dev-bare');
      const active = new ActiveDeployment(tx, 'dev-bare', footing);
      expect(await active.read()).toBeUndefined();
      await insertDeployment(tx, { id: 'dep-2', deviceId: 'dev-bare', state: 'scheduled', createdAt: 2, updatedAt: 2 });
      expect((await active.read())?.id).toBe('dep-2');
    });
  });
  it('says whether a queued operation waits for its user, and the plan takes the others as sent in queue order, putting back what a reply did not carry', async () => {
    await store.transaction(async (tx) => {
      await insertDevice(tx, { id: 'dev-queue', model: 'bare-model', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
      for (const [id, createdAt, gateId] of [['op-q3', 3, null], ['op-q1', 1, null], ['op-q2b', 2, null], ['op-q2a', 2, null], ['op-gated', 0, 'pap_1']] as const) {
        await insertOperation(tx, { id, deviceId: 'dev-queue', command: 'Get', uri: `./Vendor/${id}`, state: 'queued', ...(gateId ? { gateId } : {}), createdBy: 'test', createdAt });
      }
    });
    expect(await store.transaction((tx) => footingOf(tx, 'dev-queue'))).toMatchObject({ hasQueuedOperations: true, hasGatedOperations: true });
    expect((await store.transaction((tx) => footingOf(tx, 'dev-full')))?.hasGatedOperations).toBe(false);
    const claimed = await store.transaction(async (tx) => {
      const rows = await claimQueuedOperations(tx, 'dev-queue', 50);
      await requeueOperations(tx, ['op-q3']);
      return rows;
    });
    expect(claimed.map((r) => [r.id, r.state, r.sentAt])).toEqual([['op-q1', 'sent', 50], ['op-q2a', 'sent', 50], ['op-q2b', 'sent', 50], ['op-q3', 'sent', 50]]);
    const states = await store.transaction(async (tx) => Promise.all(['op-q1', 'op-q3', 'op-gated'].map(async (id) => (await findOperation(tx, 'dev-queue', id))?.state)));
    expect(states).toEqual(['sent', 'queued', 'queued']);
    expect((await store.transaction((tx) => findOperation(tx, 'dev-queue', 'op-q3')))?.sentAt).toBeNull();
    expect(await store.transaction((tx) => claimQueuedOperations(tx, 'dev-nobody', 60))).toEqual([]);
  });

  it('is read with the device a message names as on its own, and bound to a transaction holds from its start until it writes the topic', async () => {
    for (const deviceId of ['dev-bare', 'dev-full']) {
      const alone = await store.transaction((tx) => footingOf(tx, deviceId));
      if (!alone) throw new Error(`no footing for ${deviceId}`);
      for (const options of [{}, { withEnrollment: true }]) {
        const named = await findDeviceAndSession(store, deviceId, { sessionId: 'none' }, options);
        expect({ ...named?.footing, writes: alone.writes }).toEqual(alone);
      }
      expect({ ...(await findDeviceAndSession(store, deviceId, { token: 'dms_none' }))?.footing, writes: alone.writes }).toEqual(alone);
    }
    const read = (await findDeviceAndSession(store, 'dev-bare', { sessionId: 'none' }))?.footing;
    if (!read) throw new Error('no footing read');
    // Twice: on PostgreSQL a connection's transactions share their write counts.
    for (const id of ['op-bound-1', 'op-bound-2']) {
      await store.transaction(async (tx) => {
        const footing = footingAt(tx, read);
        expect(holds(tx, footing, 'operations')).toBe(true);
        await insertOperation(tx, { id, deviceId: 'dev-bare', command: 'Get', uri: './DevInfo/Lang', state: 'queued', createdBy: 'test', createdAt: 1 });
        expect(holds(tx, footing, 'operations')).toBe(false);
        expect(holds(tx, footing, 'deployments')).toBe(true);
        await updateOperation(tx, id, { state: 'failed' });
      });
    }
  });
});
