// Which of two builds of a model is newer, the one rule releases (and anything else that
// must pick "the newest") use. Versions are compared as numeric dot-separated segments,
// an optional leading "v" aside: 1.10 > 1.9 > 1.2.3, and 2.0 = 2.0.0 (missing segments
// are 0). A version that is not of that form ("2.0-rc1", "2024a") cannot be ordered by
// its text; then, and for versions that compare equal, the build uploaded later is the
// newer. Build time alone would be wrong whenever a hotfix for an older line (1.9.1) is
// uploaded after a newer release (2.0).
const NUMERIC_VERSION = /^v?(\d{1,40}(?:\.\d{1,40}){0,15})$/i;

/** The numeric segments of a version, or undefined when it is not dot-separated numbers. */
export function versionSegments(version: string): string[] | undefined {
  const digits = NUMERIC_VERSION.exec(version.trim())?.[1];
  // Leading zeros carry no value (1.01 = 1.1); kept as strings, so 40-digit segments compare exactly.
  return digits?.split('.').map((s) => s.replace(/^0+(?=\d)/, ''));
}

/** <0, 0 or >0 as `a` is older than, equal to or newer than `b`; undefined when either is not numeric. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = versionSegments(a);
  const y = versionSegments(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i] ?? '0';
    const q = y[i] ?? '0';
    if (p.length !== q.length) return p.length - q.length;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

export interface VersionedBuild {
  version: string;
  createdAt: number;
}

/**
 * Whether `candidate` is newer than what a device runs: its `version`, and its build when
 * the server has it. By version when both are numeric and differ; otherwise by build time
 * (a device on a version the server has no build of, and that cannot be ordered, could be
 * on anything: the candidate is offered).
 */
export function isNewerThan(candidate: VersionedBuild, version: string, running: VersionedBuild | undefined): boolean {
  const order = compareVersions(candidate.version, version);
  if (order !== undefined && order !== 0) return order > 0;
  if (running) return candidate.createdAt > running.createdAt;
  return order === undefined;
}

/** The newest of some builds by the same rule (the first of equals, so callers keep their order). */
export function newestOf<T>(items: readonly T[], build: (item: T) => VersionedBuild): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || isNewerThan(build(item), build(best).version, build(best))) best = item;
  return best;
}
