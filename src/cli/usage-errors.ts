// Node's parseArgs errors in our words: an unknown option names the closest one the
// command knows ("unknown option --windw; did you mean --window?"), a missing value says
// which option needs one. Pure, so every case is a table test.

/** Edit distance (insert, delete, replace, swap two neighbours): "windw" is 1 from "window". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] ?? 0, ((d[i - 2] as number[])[j - 2] ?? 0) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] ?? 0;
}

/** The known option closest to `given` (without dashes), if it is close enough to be a typo. */
export function closestOption(given: string, known: readonly string[]): string | undefined {
  const word = given.replace(/^-+/, '').split('=')[0] ?? '';
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.startsWith(word) && word.length >= 3 ? 0.5 : editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  // A third of the word's length, at least 1 and at most 3 edits: --windw, --devcies, --pubky.
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return best && best.distance <= allowed ? best.name : undefined;
}

/** One line for a parseArgs error (the message as Node writes it, and its code). */
export function usageMessage(err: { code?: unknown; message: string }, known: readonly string[]): string {
  const message = err.message;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /Unknown option '([^']+)'/.exec(message)?.[1] ?? '';
    const near = closestOption(given, known);
    return near ? `unknown option ${given}; did you mean --${near}?` : `unknown option ${given} (--help lists the options)`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const missing = /Option '(-[^' ]+(?:, -[^' ]+)?) <value>' argument missing/.exec(message);
    if (missing) return `${missing[1]} needs a value`;
    const unwanted = /Option '([^']+)' does not take an argument/.exec(message);
    if (unwanted) return `${unwanted[1]} takes no value`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /Unexpected argument '([^']*)'/.exec(message)?.[1];
    if (arg !== undefined) return `unexpected argument ${arg}`;
  }
  return message;
}
