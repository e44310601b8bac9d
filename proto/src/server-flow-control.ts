/**
 * The HTTP/2 flow-control windows of a gRPC server's connections.
 *
 * grpc-js applies 'grpc-node.flow_control_window' only to the connections a client opens. A
 * server's sessions keep HTTP/2's 64 KiB defaults, so every upload (the site sends, the coordinator
 * receives) stopped for a window update every 64 KiB: 190-260 MB/s on loopback, where downloads,
 * with the client's 8 MiB window, ran faster. grpc-js 1.14 has no server option for it, so the
 * windows are set on each session its HTTP/2 servers open.
 */
import type * as grpc from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import type { ServerHttp2Session } from 'node:http2';
import { TRANSFER_CHANNEL_OPTIONS } from './transfer';

/**
 * What one stream may send ahead of what the server has read. It bounds what an upload waiting for
 * its turn holds in the server's memory (the coordinator reads a bounded number of uploads at once
 * and leaves the others paused): 500 waiting sites hold at most 500 MiB. In the transfer bench
 * over TLS (2026-12-02, three runs each), uploads ran at 375-493 MB/s with 1 MiB against 317-395
 * MB/s with 256 KiB (0.63-0.70x against 0.49-0.56x the raw TLS socket); plaintext, the two were
 * within the spread.
 */
export const SERVER_STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * The whole connection's window: the same as a client's. Node takes a connection's window back as
 * soon as bytes arrive (only a stream's waits for the program to read), so it costs no memory of
 * its own; it only lets several streams of one connection move at once.
 */
export const SERVER_CONNECTION_WINDOW_BYTES = TRANSFER_CHANNEL_OPTIONS['grpc-node.flow_control_window'];

const widened = new WeakSet<object>();

/**
 * Gives every connection the server accepts from now on the windows above. Call it after each
 * bindAsync: grpc-js makes a port's HTTP/2 server when the port is bound.
 */
export function widenServerFlowControl(server: grpc.Server): void {
  for (const http2Server of http2ServersOf(server)) {
    if (widened.has(http2Server)) continue;
    widened.add(http2Server);
    http2Server.on('session', (session: ServerHttp2Session) => {
      session.settings({ initialWindowSize: SERVER_STREAM_WINDOW_BYTES });
      session.setLocalWindowSize(SERVER_CONNECTION_WINDOW_BYTES);
    });
  }
}

/** The HTTP/2 servers behind a grpc-js Server: a private field, so its absence is an error, not a silent slow server. */
function http2ServersOf(server: grpc.Server): EventEmitter[] {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error(
      'this @grpc/grpc-js Server keeps no http2Servers map (its internals changed): the server\'s HTTP/2 flow-control windows cannot be set; ' +
        'see proto/src/server-flow-control.ts',
    );
  }
  return [...servers.keys()] as EventEmitter[];
}
