// SPDX-License-Identifier: Apache-2.0
// validate.mjs - docs/openapi.yaml is a valid OpenAPI 3.0 document, and strict.
// Usage: node validate.mjs TOOLS_NODE_MODULES OPENAPI_YAML
// 1. The YAML parses without duplicate keys or other errors (yaml, strict).
// 2. @apidevtools/swagger-parser validates it against the OpenAPI 3.0 schema and resolves every $ref.
// 3. Every object schema under components.schemas (and inline ones) says additionalProperties: false,
//    so the live-response test (tests/openapi/live.py) rejects unknown properties.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [modules, file] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), "x.js"));
const YAML = require("yaml");
const SwaggerParser = require("@apidevtools/swagger-parser");

const fail = (msg) => { console.error(`openapi.validate: FAIL: ${msg}`); process.exit(1); };
const text = readFileSync(file, "utf8");
const parsed = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
if (parsed.errors.length) fail(parsed.errors.map((e) => e.message).join("\n"));
if (parsed.warnings.length) fail(parsed.warnings.map((e) => e.message).join("\n"));
const doc = parsed.toJS();

const loose = [];
const walk = (node, where) => {
  if (Array.isArray(node)) { node.forEach((v, i) => walk(v, `${where}[${i}]`)); return; }
  if (node === null || typeof node !== "object") return;
  // google.protobuf.Any (Status.details) is the one open object: it says so, with a required @type.
  const any = node.additionalProperties === true && node.properties?.["@type"] && node.required?.includes("@type");
  if (node.type === "object" && node.additionalProperties !== false && !any) loose.push(where);
  for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
};
walk(doc.paths, "#/paths");
walk(doc.components.schemas, "#/components/schemas");
if (loose.length) fail(`object schemas without additionalProperties: false:\n  ${loose.join("\n  ")}`);

try {
  const api = await SwaggerParser.validate(structuredClone(doc));
  const ops = Object.values(api.paths).reduce((n, p) => n + Object.keys(p).filter((k) => k !== "parameters").length, 0);
  console.log(`openapi.validate: ok: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${ops} operations, ${Object.keys(api.components.schemas).length} schemas, all strict`);
} catch (e) {
  fail(e.message);
}
