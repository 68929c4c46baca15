// The package a download asks for, looked up once per package and process: package rows
// (firmware and application) are written once when their build is processed and never
// updated or deleted, and a download needs only their file's hash and size. A package not
// found is not kept, so one created later is found by the next request.
import { BoundedMap } from '../bounded-map.ts';
import type { Context } from '../context.ts';
import { findPackage } from '../store/queries/builds.ts';
import { findAppPackage } from '../store/queries/scomo.ts';

export interface DownloadPackage {
  id: string;
  fileSha256: string;
  fileSize: number;
  /** A firmware package (a build's): its bytes count on the deployment; an application package's do not. */
  firmware: boolean;
}

/** Packages kept; a campaign downloads one or two, so this is plenty. */
const KEPT_PACKAGES = 256;

export class DownloadPackages {
  private readonly kept = new BoundedMap<string, DownloadPackage>(KEPT_PACKAGES);

  constructor(private readonly ctx: Context) {}

  async find(id: string): Promise<DownloadPackage | undefined> {
    const hit = this.kept.get(id);
    if (hit) return hit;
    const row = (await findPackage(this.ctx.db, id)) ?? (await findAppPackage(this.ctx.db, id));
    if (!row) return undefined;
    const pkg: DownloadPackage = { id: row.id, fileSha256: row.fileSha256, fileSize: row.fileSize, firmware: 'buildId' in row };
    this.kept.set(id, pkg);
    return pkg;
  }
}
