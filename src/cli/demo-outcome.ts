// What the demo promises: every device whose injected fault should make it fail reports
// exactly that FUMO code, every other device ends on the target version, and delta
// delivery costs a fraction of full images. Pure, so the check itself is tested.
import { percent } from '../format.ts';

export interface Expectation {
  devices: number;
  /** Devices that should fail, by the FUMO code their fault produces. */
  failuresByCode: Record<string, number>;
}

export interface Observation {
  succeeded: number;
  failed: number;
  failuresByCode: Record<string, number>;
  /** Deployments neither succeeded nor failed (still under way, or canceled). */
  unfinished: number;
  devicesOnTarget: number;
}

/** Every way the observation differs from the expectation; empty when they match. */
export function mismatches(expected: Expectation, seen: Observation): string[] {
  const problems: string[] = [];
  const expectedFailures = Object.values(expected.failuresByCode).reduce((a, b) => a + b, 0);
  const expectedSuccesses = expected.devices - expectedFailures;
  if (seen.succeeded !== expectedSuccesses) problems.push(`${seen.succeeded} succeeded, expected ${expectedSuccesses}`);
  if (seen.devicesOnTarget !== expectedSuccesses) problems.push(`${seen.devicesOnTarget} devices run the target, expected ${expectedSuccesses}`);
  if (seen.unfinished > 0) problems.push(`${seen.unfinished} deployments did not finish`);
  for (const code of new Set([...Object.keys(expected.failuresByCode), ...Object.keys(seen.failuresByCode)])) {
    const want = expected.failuresByCode[code] ?? 0;
    const got = seen.failuresByCode[code] ?? 0;
    if (want !== got) problems.push(`${got} failures with FUMO ${code}, expected ${want}`);
  }
  return problems;
}

/** The enrollment's promise: every device of the batch left the claim, and the claim opens none of them. */
export function enrollmentMismatches(seen: { devices: number; enrolled: number; claimRefusedAfter: number }): string[] {
  const problems: string[] = [];
  if (seen.enrolled !== seen.devices) problems.push(`${seen.enrolled} of ${seen.devices} batch devices enrolled`);
  if (seen.claimRefusedAfter !== seen.devices) problems.push(`the claim was refused for ${seen.claimRefusedAfter} of ${seen.devices} enrolled devices`);
  return problems;
}

/** The configuration campaign's promise: it completed, every device with locked settings failed with its Status, every other one succeeded. */
export function configurationMismatches(seen: { state: string; devices: number; succeeded: number; failed: number; byCode: Record<string, number>; expectedByCode: Record<string, number> }): string[] {
  const problems: string[] = [];
  const expectedFailures = Object.values(seen.expectedByCode).reduce((a, b) => a + b, 0);
  if (seen.state !== 'completed') problems.push(`the configuration campaign ended ${seen.state}`);
  if (seen.succeeded !== seen.devices - expectedFailures) problems.push(`${seen.succeeded} devices took the configuration, expected ${seen.devices - expectedFailures}`);
  for (const code of new Set([...Object.keys(seen.expectedByCode), ...Object.keys(seen.byCode)])) {
    const want = seen.expectedByCode[code] ?? 0;
    const got = seen.byCode[code] ?? 0;
    if (want !== got) problems.push(`${got} configuration failures with Status ${code}, expected ${want}`);
  }
  return problems;
}

/**
 * The injected faults as the demo announces them: each share as asked and how many devices
 * drew it, so a small share reads "0.4% (2 devices)", never "0%".
 */
export function faultWords(faults: ReadonlyArray<{ kind: string; share: number }>, drawn: Readonly<Record<string, number>>): string {
  return faults
    .map((f) => {
      const n = drawn[f.kind] ?? 0;
      return `${f.kind} ${percent(f.share)} (${n === 0 ? 'no device' : `${n} device${n === 1 ? '' : 's'}`})`;
    })
    .join(', ');
}
