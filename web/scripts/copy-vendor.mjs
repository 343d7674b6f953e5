// Copies the browser builds the pages need from node_modules into static/vendor/, minified.
// The pages load nothing from third-party hosts, so livekit-client is served by the sidecar: its
// ES module build, which the page modules import as "livekit-client" (the sidecar rewrites that
// name to the file's fingerprinted URL, see web/assets.py). That build ships unminified (1.4 MB,
// 250 KB even brotli-compressed); minified it is 600 KB, 130 KB compressed, which is what keeps
// a live watch page's first visit under its 200 KB budget (tests/pages/test_page_weight.py).
// `python -m web.assets build` then precompresses it with everything else in static/.
import { mkdirSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

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
  const original = readFileSync(source, "utf8");
  // Only whitespace, names and syntax shrink: no target, so nothing is rewritten for older
  // browsers, and the library's license comments stay (at the end of the file).
  const { code } = transformSync(original, {
    format: "esm",
    minify: true,
    legalComments: "eof",
    // The source map is not served: drop the comment that points at it.
    sourcemap: false,
  });
  writeFileSync(join(vendorDir, to), code.replace(/\/\/# sourceMappingURL=\S+\s*$/, ""));
  const kb = (n) => `${Math.round(n / 1024)} KB`;
  console.log(`minified ${from} (${kb(original.length)}) -> static/vendor/${to} (${kb(code.length)})`);
}
