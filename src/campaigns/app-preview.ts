// The cohort preview of an application campaign: how many of the cohort's devices a start
// would leave out because their application inventory says there is nothing to do (already
// on the version, or without the component to remove), counted as the start counts them
// (app-payload.ts), a page of the cohort at a time.
import { type CohortFilter, cohortPage } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { appDoneAmong, appTargetVersion } from './app-payload.ts';
import { resolveApp } from './create-application.ts';
import type { AppPayload } from './schemas.ts';

const PAGE = 1000;

/** The model the payload names (by application id), for a preview whose cohort names none. */
export async function appPreviewModel(tx: Tx, app: AppPayload, cohortModel: string | undefined): Promise<string> {
  return (await resolveApp(tx, app, cohortModel)).model;
}

/** How many devices of the cohort the application campaign would leave out with nothing to do. */
export async function appAlreadyDone(tx: Tx, app: AppPayload, filter: CohortFilter): Promise<number> {
  const { component, version } = await resolveApp(tx, app, filter.model);
  const campaign = { appOperation: app.operation, appComponent: component, appVersionId: version?.id ?? null };
  const target = await appTargetVersion(tx, campaign);
  let done = 0;
  for (let after = ''; ; ) {
    const page = await cohortPage(tx, filter, after, PAGE);
    done += (await appDoneAmong(tx, campaign, target, page.map((r) => r.id))).size;
    if (page.length < PAGE) return done;
    after = page[page.length - 1]?.id ?? after;
  }
}
