// A real grpc-js server and client on loopback: the windows the server's HTTP/2 session announces and
// keeps, with widenServerFlowControl and (the control) without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ChunkCodecFederationClient } from './chunk-codec';
import { FederationService, type UploadMessage, type UploadReceipt, UploadState } from './generated/v1/federation';
import { SERVER_CONNECTION_WINDOW_BYTES, SERVER_READING_STREAM_WINDOW_BYTES, SERVER_STREAM_WINDOW_BYTES, widenServerFlowControl, widenWhileReading } from './server-flow-control';
import { chunkBlob, TRANSFER_CHANNEL_OPTIONS } from './transfer';

interface SessionWindows {
  streamWindow: number | undefined;
  connectionWindow: number | undefined;
}

const UPLOADED_BYTES = 3 * 1024 * 1024;

/**
 * Binds `server` on loopback (widened when asked), records its HTTP/2 sessions into `sessions`,
 * uploads 3 MiB to it and checks the receipt; returns what `whileOpen` gives, read before both
 * ends close.
 */
async function uploadTo<T>(server: grpc.Server, widen: boolean, sessions: ServerHttp2Session[], whileOpen: () => T): Promise<T> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  if (widen) widenServerFlowControl(server);
  // Attached after widenServerFlowControl's listener, so it sees the session once widened.
  for (const h of (server as unknown as { http2Servers: Map<NodeJS.EventEmitter, unknown> }).http2Servers.keys()) h.on('session', (s: ServerHttp2Session) => sessions.push(s));
  const client = new ChunkCodecFederationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), TRANSFER_CHANNEL_OPTIONS);
  try {
    const blob = Buffer.alloc(UPLOADED_BYTES, 7);
    const receipt = await new Promise<UploadReceipt>((resolve, reject) => {
      const call = client.uploadUpdate((e, r) => (e ? reject(e) : resolve(r!)));
      call.write({ header: { idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined, totalBytes: blob.length, sha256: '', trainMetrics: {}, resumeOffset: 0 } });
      for (const chunk of chunkBlob(blob, 1024 * 1024)) call.write({ chunk });
      call.end();
    });
    assert.equal(receipt.receivedBytes, blob.length);
    return whileOpen();
  } finally {
    client.close();
    server.forceShutdown();
  }
}

/** Uploads 3 MiB to a fresh server and returns the windows of the session that received it. */
async function windowsOfAnUpload(widen: boolean): Promise<SessionWindows> {
  const server = new grpc.Server(TRANSFER_CHANNEL_OPTIONS);
  server.addService(FederationService, {
    uploadUpdate(call: grpc.ServerReadableStream<UploadMessage, UploadReceipt>, answer: grpc.sendUnaryData<UploadReceipt>) {
      let receivedBytes = 0;
      call.on('data', (m: UploadMessage) => (receivedBytes += m.chunk?.data.length ?? 0));
      call.on('end', () => answer(null, { updateId: 'u', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes }));
    },
  });
  const sessions: ServerHttp2Session[] = [];
  return uploadTo(server, widen, sessions, () => {
    assert.equal(sessions.length, 1);
    const session = sessions[0]!;
    return { streamWindow: session.localSettings.initialWindowSize, connectionWindow: session.state.localWindowSize };
  });
}

test('a widened server announces a 1 MiB stream window and keeps an 8 MiB connection window', async () => {
  const w = await windowsOfAnUpload(true);
  assert.equal(w.streamWindow, SERVER_STREAM_WINDOW_BYTES);
  assert.equal(SERVER_STREAM_WINDOW_BYTES, 1024 * 1024);
  assert.equal(SERVER_CONNECTION_WINDOW_BYTES, 8 * 1024 * 1024);
  // What is left of it: the 8 MiB less what arrived since the last window update (nghttp2 tops
  // a window up once half of it is used), at most the 3 MiB uploaded and its framing.
  assert.ok(w.connectionWindow! > SERVER_CONNECTION_WINDOW_BYTES - UPLOADED_BYTES - 64 * 1024 && w.connectionWindow! <= SERVER_CONNECTION_WINDOW_BYTES, `connection window ${w.connectionWindow}`);
});

test('the control: grpc-js alone leaves a server at HTTP/2\'s 64 KiB windows, whatever its channel options say', async () => {
  const w = await windowsOfAnUpload(false);
  assert.equal(w.streamWindow, 65535);
  assert.ok(w.connectionWindow! <= 65535, `connection window ${w.connectionWindow}`);
});

test('widening twice hooks a port once; a server that is not grpc-js\'s is refused by name', async () => {
  const server = new grpc.Server();
  try {
    await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const [http2Server] = (server as unknown as { http2Servers: Map<NodeJS.EventEmitter, unknown> }).http2Servers.keys();
    const before = http2Server!.listenerCount('session');
    widenServerFlowControl(server);
    widenServerFlowControl(server);
    assert.equal(http2Server!.listenerCount('session'), before + 1);
  } finally {
    server.forceShutdown();
  }
  assert.throws(() => widenServerFlowControl({} as grpc.Server), /keeps no http2Servers map .*server-flow-control\.ts/);
});

test('a stream the server reads gets the wide window, and the connection the narrow one back once it is read', async () => {
  const server = new grpc.Server(TRANSFER_CHANNEL_OPTIONS);
  const seen: { widened?: boolean; whileReading?: number; afterwards?: number } = {};
  const sessions: ServerHttp2Session[] = [];
  const announced = (s: ServerHttp2Session) => new Promise<number>((resolve) => s.once('localSettings', (settings) => resolve(settings.initialWindowSize!)));
  server.addService(FederationService, {
    uploadUpdate(call: grpc.ServerReadableStream<UploadMessage, UploadReceipt>, answer: grpc.sendUnaryData<UploadReceipt>) {
      void (async () => {
        const session = sessions[0]!;
        const wide = widenWhileReading(call);
        seen.widened = wide.widened;
        seen.whileReading = await announced(session);
        let receivedBytes = 0;
        for await (const m of call as AsyncIterable<UploadMessage>) receivedBytes += m.chunk?.data.length ?? 0;
        wide.release();
        wide.release(); // a second release changes nothing
        seen.afterwards = await announced(session);
        answer(null, { updateId: 'u', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes });
      })();
    },
  });
  await uploadTo(server, true, sessions, () => {
    assert.deepEqual(seen, { widened: true, whileReading: SERVER_READING_STREAM_WINDOW_BYTES, afterwards: SERVER_STREAM_WINDOW_BYTES });
    assert.equal(SERVER_READING_STREAM_WINDOW_BYTES, 8 * 1024 * 1024);
  });
});

test('a call on a server that was not widened keeps its windows', async () => {
  assert.deepEqual({ ...widenWhileReading({ getPeer: () => '127.0.0.1:1' }), release: undefined }, { widened: false, release: undefined });
});
