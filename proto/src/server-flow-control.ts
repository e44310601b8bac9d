/**
 * The HTTP/2 flow-control windows of a gRPC server's connections.
 *
 * grpc-js applies 'grpc-node.flow_control_window' only to the connections a client opens. A
 * server's sessions keep HTTP/2's 64 KiB defaults, so every upload (the site sends, the coordinator
 * receives) stopped for a window update every 64 KiB: 190-260 MB/s on loopback, where downloads,
 * with the client's 8 MiB window, ran faster. grpc-js 1.14 has no server option for it, so the
 * windows are set on each session its HTTP/2 servers open: narrow while the server does not read a
 * stream (an upload waiting for its turn), as wide as a client's while it reads one (widenWhileReading).
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
 * What a stream may send ahead while the server reads it (an upload holding one of the coordinator's
 * transfer slots, whose number bounds the memory): a client's window, so uploads stream as downloads
 * do. With the 1 MiB window throughout, the sender stopped whenever the receiver's event loop was
 * busy with a 4 MiB chunk; in the transfer bench over TLS (2026-12-05, five runs each, interleaved)
 * uploads ran at 0.51 the raw TLS socket's rate with 1 MiB and 0.61 with 8 MiB, every run faster
 * (+0.10 ± 0.04).
 */
export const SERVER_READING_STREAM_WINDOW_BYTES = TRANSFER_CHANNEL_OPTIONS['grpc-node.flow_control_window'];

/**
 * The whole connection's window: the same as a client's. Node takes a connection's window back as
 * soon as bytes arrive (only a stream's waits for the program to read), so it costs no memory of
 * its own; it only lets several streams of one connection move at once.
 */
export const SERVER_CONNECTION_WINDOW_BYTES = TRANSFER_CHANNEL_OPTIONS['grpc-node.flow_control_window'];

const widened = new WeakSet<object>();

/** The sessions of widened servers by their peer (what a call's getPeer() says), with how many of their streams are being read. */
const sessionsByPeer = new Map<string, { session: ServerHttp2Session; reading: number }>();

/** A session's peer as grpc-js's calls name it (getPeer: the socket's address and port). */
const peerOf = (session: ServerHttp2Session): string | undefined => {
  const socket = session.socket;
  if (!socket?.remoteAddress) return undefined;
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
};

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
      const peer = peerOf(session);
      if (!peer) return;
      sessionsByPeer.set(peer, { session, reading: 0 });
      session.once('close', () => {
        if (sessionsByPeer.get(peer)?.session === session) sessionsByPeer.delete(peer);
      });
    });
  }
}

/**
 * Gives the streams of the call's connection SERVER_READING_STREAM_WINDOW_BYTES while the server
 * reads the call (HTTP/2 applies a new initial window to the connection's open streams too), and
 * SERVER_STREAM_WINDOW_BYTES again once `release` has been called for every call of the connection
 * that was widened. `widened` is false where the call's connection is not one of a widened server's
 * (it keeps its windows, and `release` does nothing).
 */
export function widenWhileReading(call: { getPeer(): string }): { widened: boolean; release(): void } {
  const entry = sessionsByPeer.get(call.getPeer());
  if (!entry || entry.session.destroyed) return { widened: false, release: () => undefined };
  if (entry.reading++ === 0) entry.session.settings({ initialWindowSize: SERVER_READING_STREAM_WINDOW_BYTES });
  let released = false;
  return {
    widened: true,
    release() {
      if (released) return;
      released = true;
      if (--entry.reading === 0 && !entry.session.destroyed && !entry.session.closed) entry.session.settings({ initialWindowSize: SERVER_STREAM_WINDOW_BYTES });
    },
  };
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
