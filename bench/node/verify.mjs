// Verifies a token with livekit-server-sdk's TokenVerifier and prints its claims as JSON.
// Usage: node verify.mjs <token>   (LIVEKIT_API_KEY / LIVEKIT_API_SECRET from the environment)
import { TokenVerifier } from 'livekit-server-sdk';

const verifier = new TokenVerifier(process.env.LIVEKIT_API_KEY, process.env.LIVEKIT_API_SECRET);
try {
  console.log(JSON.stringify(await verifier.verify(process.argv[2])));
} catch (error) {
  console.error(`refused: ${error}`);
  process.exit(1);
}
