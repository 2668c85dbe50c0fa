// Bundles the page (src/) and its npm dependencies into the Python package's static folder.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../src/agentco/server/static/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  splitting: true, // mermaid loads each diagram type on demand
  format: "esm",
  minify: true,
  outdir: `${out}assets`,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "linked",
  logLevel: "warning",
});
cpSync("src/index.html", `${out}index.html`);
// the API's own page (/docs) draws the OpenAPI description offline with Swagger UI's files
mkdirSync(`${out}assets/swagger`, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
  cpSync(`node_modules/swagger-ui-dist/${name}`, `${out}assets/swagger/${name}`);
}
cpSync("src/style.css", `${out}assets/style.css`);
