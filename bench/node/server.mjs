// The token endpoint of the stack golive replaces: Node's http + livekit-server-sdk, one process.
// It answers POST /api/live/token like golive does for a guest viewer: read the JSON body, check
// the room is the (one, fixed) live room, mint a subscribe-only token. bench/token_endpoint.py
// starts it; settings come from the environment.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { AccessToken } from 'livekit-server-sdk';

const { PORT, LIVE_ROOM, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, WS_URL, TTL_SECONDS } = process.env;
const ttl = Number(TTL_SECONDS);

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function token(body) {
  let request;
  try {
    request = JSON.parse(body);
  } catch {
    return [400, { error: 'The body is not valid JSON.' }];
  }
  const roomName = request?.roomName;
  const role = request?.role ?? 'viewer';
  if (typeof roomName !== 'string') return [400, { error: "'roomName' is required." }];
  if (role !== 'viewer') return [400, { error: "'role' must be 'viewer'." }];
  if (roomName !== LIVE_ROOM) return [404, { error: 'No live stream is using that room.' }];
  const at = new AccessToken(LIVEKIT_API_KEY, LIVEKIT_API_SECRET, {
    identity: `guest-${randomBytes(6).toString('hex')}`,
    name: 'Guest',
    ttl,
  });
  at.addGrant({
    roomJoin: true,
    room: roomName,
    canSubscribe: true,
    canPublish: false,
    canPublishData: false,
    canPublishSources: [],
    canUpdateOwnMetadata: false,
  });
  return [200, { token: await at.toJwt(), wsUrl: WS_URL }];
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/live/token') {
    answer(res, 404, { error: 'There is nothing at this address.' });
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    token(Buffer.concat(chunks).toString('utf8')).then(
      ([status, body]) => answer(res, status, body),
      () => answer(res, 500, { error: 'Something went wrong.' }),
    );
  });
});
server.listen(Number(PORT), '127.0.0.1', () => console.log('ready'));
