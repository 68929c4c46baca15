// The demo's configuration story: the operator moves the DM server. A configuration
// profile (one Replace of the DM account's server address, with the old value read first)
// goes to the demo fleet in a configuration campaign, in stages like firmware: 10%
// (approval by a second operator) -> 100%. Devices that drew the refuse-writes fault have
// locked settings and fail with Status 425; every other device takes the new address.
import { z } from 'zod';
import { type CampaignView, campaignViewSchema } from '../campaigns/schemas.ts';
import { createdProfileVersionSchema } from '../profiles/schemas.ts';
import { callServer, type Client } from './client.ts';
import { failuresOf, followCampaign } from './demo-follow.ts';

/** The DM server address of the account the simulated devices use. */
export const SERVER_ADDRESS_NODE = './DMAcc/fota/AppAddr/1/Addr';
export const NEW_SERVER_ADDRESS = 'https://dm2.example.net/dm';

export interface ConfigurationSummary {
  campaign: string;
  profile: string;
  node: string;
  value: string;
  state: CampaignView['state'];
  devices: number;
  succeeded: number;
  failed: number;
  /** Failures by the first failing DM Status (425: a locked setting). */
  byCode: Record<string, number>;
  expectedByCode: Record<string, number>;
  resumes: number;
  stages: Array<{ percent: number; devices: number; succeeded: number; failed: number }>;
}

/** Creates the profile and the campaign, has it approved, and follows it to the end. */
export async function runConfigurationCampaign(
  clients: { operator: Client; approver: Client },
  options: { model: string; tag: string; injected: Record<string, number>; deadlineMs: number },
  say: (line: string) => void,
): Promise<ConfigurationSummary> {
  const profile = await callServer(clients.operator, 'POST', '/api/v1/profiles', createdProfileVersionSchema, {
    json: {
      name: 'dm-server-move',
      model: options.model,
      description: 'the DM server moves to dm2',
      operations: [{ command: 'Replace', uri: SERVER_ADDRESS_NODE, data: NEW_SERVER_ADDRESS, format: 'chr', readFirst: true }],
    },
  });
  const ref = `${profile.name}@${profile.version}`;
  const { id } = await callServer(clients.operator, 'POST', '/api/v1/campaigns', z.object({ id: z.string() }), {
    json: {
      name: 'move the DM server',
      profile: ref,
      cohort: { tags: [options.tag] },
      stages: [{ percent: 10, requiresApproval: true }, { percent: 100 }],
      successThreshold: 0.9,
      failureThreshold: 0.25,
      minSample: 30,
      fourEyes: true,
    },
  });
  const act = (client: Client, action: string, reason?: string) => callServer(client, 'POST', `/api/v1/campaigns/${id}/${action}`, campaignViewSchema, { json: reason ? { reason } : {} });
  const started = await act(clients.operator, 'start');
  say(`configuration campaign ${id} (profile ${ref}: ${SERVER_ADDRESS_NODE} -> ${NEW_SERVER_ADDRESS}) started: stages of ${started.stages.map((s) => s.size).join(' / ')} devices`);
  await act(clients.approver, 'approve', 'the new DM server answers');
  say('configuration stage 1 approved by Arjun (approver)');
  const { view, resumes } = await followCampaign(clients.operator, id, options.injected, options.deadlineMs, say, 'configuration campaign');
  return {
    campaign: id,
    profile: ref,
    node: SERVER_ADDRESS_NODE,
    value: NEW_SERVER_ADDRESS,
    state: view.state,
    devices: view.cohortSize,
    succeeded: view.totals.succeeded,
    failed: view.totals.failed,
    byCode: failuresOf(view),
    expectedByCode: options.injected,
    resumes,
    stages: view.stages.map((s) => ({ percent: s.percent, devices: s.size, succeeded: s.counts.succeeded, failed: s.counts.failed })),
  };
}
