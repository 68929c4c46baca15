// How operators read an application operation everywhere: the campaign view, a device's
// deployments (fota device show).

/** `app com.acme.nav@2.1` for an install, `remove com.acme.nav` (activate, deactivate) for the others. */
export function appPayloadLabel(campaign: { appOperation: string | null; appComponent: string | null }, version: string | null): string {
  const component = campaign.appComponent ?? '?';
  return campaign.appOperation === 'install' ? `app ${component}@${version ?? '?'}` : `${campaign.appOperation ?? '?'} ${component}`;
}
