import { createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A host that takes TCP connections and answers nothing (a coordinator's host gone silent, or a
 * connection attempt that hangs): gRPC never gets the server's HTTP/2 settings, so its channel stays
 * CONNECTING. `connections` counts the attempts that reached it; `close` drops them and stops it.
 */
export async function silentHost(): Promise<{ address: string; connections: () => number; close: () => void }> {
  const held: Socket[] = [];
  const server = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => held.length,
    close: () => {
      for (const socket of held) socket.destroy();
      server.close();
    },
  };
}
