// Which FUMO Exec a scheduled deployment gets now, if any: one rule for one-device
// deployments (their own mode) and campaign deployments (the campaign's mode and window).
// A campaign in two-step or download-only mode sends Download at once, whatever its
// window: fetching in the background disturbs no one (the bandwidth budget keeps it off
// the carrier's peak); the Update, which reboots the device, waits for the window. A
// download-only campaign's Update waits for the operator (install).
import { campaignWindowOpen } from '../schedule/window.ts';

export type FumoOperation = 'Download' | 'Update' | 'DownloadAndUpdate';
export type DeploymentMode = 'downloadAndUpdate' | 'twoStep' | 'twoStepDownloaded';
export type CampaignMode = 'install' | 'twoStep' | 'downloadOnly';

export interface CampaignForStep {
  state: string;
  mode: CampaignMode;
  window: string | null;
  forcedReason: string | null;
}

/** The Exec to send now, or undefined to wait (campaign not running, window closed, install not yet allowed). */
export function fumoStepOf(mode: DeploymentMode, campaign: CampaignForStep | undefined, now: number): FumoOperation | undefined {
  if (!campaign) return mode === 'twoStepDownloaded' ? 'Update' : mode === 'twoStep' ? 'Download' : 'DownloadAndUpdate';
  if (campaign.state !== 'running') return undefined;
  const windowOpen = campaignWindowOpen(campaign, now);
  if (mode === 'twoStepDownloaded') return campaign.mode === 'downloadOnly' || !windowOpen ? undefined : 'Update';
  if (campaign.mode === 'twoStep' || campaign.mode === 'downloadOnly' || mode === 'twoStep') return 'Download';
  return windowOpen ? 'DownloadAndUpdate' : undefined;
}
