// How the console writes numbers, sizes, times, states and FUMO result codes for people.
// Pure functions, so pages stay declarative and the wording is the same everywhere.
import { fumoMeaning } from '../omadm/fumo-results.ts';
import { scomoMeaning } from '../omadm/scomo.ts';

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}

/**
 * What a delta saves against downloading the full package: 1 - size/fullSize. The full
 * package (not the raw image) is the fair baseline: it is what the device gets otherwise,
 * manifest and signature included.
 */
export function saving(size: number, fullSize: number | undefined): number | undefined {
  if (fullSize === undefined || fullSize <= 0) return undefined;
  return 1 - size / fullSize;
}

/** ISO time as "2025-11-26 06:42:26 UTC": one zone for everyone reading the same page. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/**
 * What a failure key means: a FUMO result code (omadm/fumo-results.ts), a SCOMO one (omadm/scomo.ts), or 'timeout', the
 * campaign engine's key for a device that went silent.
 */
export function resultText(code: string | number): string {
  if (code === 'timeout') return 'no news from the device before the timeout';
  if (!/^\d+$/.test(String(code))) return 'unknown result code';
  // SCOMO result codes (application campaigns) are four digits, 1xxx; FUMO's are three.
  return Number(code) >= 1000 && Number(code) < 2000 ? scomoMeaning(Number(code)) : fumoMeaning(Number(code));
}
