// Validate an AsyncAPI document with the official parser: prints the diagnostics as JSON,
// exits 1 if any is an error (severity 0). Usage: node validate-asyncapi.mjs doc.json
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const { diagnostics } = await parser.parse(readFileSync(process.argv[2], "utf8"));
const found = diagnostics.map((d) => ({ code: d.code, message: d.message, path: d.path, severity: d.severity }));
console.log(JSON.stringify(found));
process.exit(found.some((d) => d.severity === 0) ? 1 : 0);
