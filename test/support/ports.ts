// Loopback ports for tests that need a connection refused: bound once, then released,
// so nothing listens there (fetch refuses the well-known ones like 1 outright).
import { type AddressInfo, createServer } from 'node:net';

export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
