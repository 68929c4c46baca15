// A bench's reference server: a bare node:http script in a process of its own, which
// prints its port once it listens and exits on SIGTERM rather than dying of it (so a
// --cpu-prof of it gets written). bench:download and bench:dm each write the script.
import { type ChildProcess, spawn } from 'node:child_process';

/** The tail every floor script ends with: listen on a loopback port, say which, exit on SIGTERM. */
export const FLOOR_LISTEN = `
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

/** Runs `script` (which ends in FLOOR_LISTEN) with `nodeArgs` and `args`; resolves once it listens. */
export async function startFloor(script: string, args: string[], nodeArgs: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...nodeArgs, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (line: Buffer) => resolve(line.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the Node floor server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
