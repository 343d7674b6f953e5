// Copies the browser builds the pages need from node_modules into static/vendor/.
// The pages load nothing from third-party hosts, so livekit-client is served by the sidecar: its
// ES module build, which the page modules import as "livekit-client" (the sidecar rewrites that
// name to the file's fingerprinted URL, see web/assets.py).
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendorDir = join(webDir, "static", "vendor");
const files = [
  ["node_modules/livekit-client/dist/livekit-client.esm.mjs", "livekit-client.esm.mjs"],
];

mkdirSync(vendorDir, { recursive: true });
for (const [from, to] of files) {
  const source = join(webDir, from);
  if (!existsSync(source)) {
    console.error(`missing ${from}: run "npm ci" in web/ first`);
    process.exit(1);
  }
  copyFileSync(source, join(vendorDir, to));
  console.log(`copied ${from} -> static/vendor/${to}`);
}
