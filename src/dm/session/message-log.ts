// The logger of one DM message: a child of the server's logger bound to the device, its
// session and the message, made only once a line is written through it. Most messages
// write none (routine lines are debug, README, Logs), and a pino child costs its bindings
// run through the redaction of every value (context.ts: wildcard paths) on each message,
// a few microseconds and some 4 KiB of garbage each (bench/dm.ts).
import type { Bindings, Logger } from 'pino';

/** A logger that writes as `parent.child(bindings)` would; the child is made on first use. */
export function messageLog(parent: Logger, bindings: Bindings): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= parent.child(bindings));
  return new Proxy(parent, {
    get(target, prop) {
      if (child === undefined) {
        // A child has its parent's level: asking it, or a line below it, needs no child.
        if (prop === 'isLevelEnabled') return isLevelEnabledOf(target);
        if (typeof prop === 'string' && isLevelName(target, prop) && !target.isLevelEnabled(prop)) return skip;
      }
      const made = real();
      const value: unknown = Reflect.get(made, prop, made);
      return typeof value === 'function' ? value.bind(made) : value;
    },
  });
}

function isLevelName(logger: Logger, name: string): boolean {
  return Object.hasOwn(logger.levels.values, name);
}

const bound = new WeakMap<Logger, Logger['isLevelEnabled']>();
function isLevelEnabledOf(logger: Logger): Logger['isLevelEnabled'] {
  let fn = bound.get(logger);
  if (fn === undefined) {
    fn = logger.isLevelEnabled.bind(logger);
    bound.set(logger, fn);
  }
  return fn;
}

/** A line below the logger's level: written nowhere, as pino's own methods then do. */
const skip = (): void => {};
