// How shares read for people, the same in the console, the CLI and the demo.

/**
 * A share 0..1 as a percentage: one decimal where it matters ("95%", "99.9%", "100%"),
 * two significant digits below 1% (a delta at "0.37%" of the full image is not "0%").
 */
export function percent(share: number): string {
  const value = share * 100;
  if (value !== 0 && Math.abs(value) < 1) return `${Number(value.toPrecision(2))}%`;
  return `${Math.round(value * 10) / 10}%`;
}
