// SPDX-License-Identifier: Apache-2.0
// tests/helm/validate_schema.mjs - validates rendered manifests against the Kubernetes OpenAPI schemas
//
// Usage: node validate_schema.mjs NODE_DIR RENDERED.yaml...
// NODE_DIR holds node_modules with kubernetes-models@5.1.0 and yaml@2 (tests/helm/install_tools.sh).
// Each document is built as its kubernetes-models class and validated (types, required fields,
// formats, enums). Kinds without a model fail: the chart renders only built-in kinds. Known limit:
// unknown fields are not rejected (the models allow additional properties).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeDir, ...files] = process.argv.slice(2);
if (!nodeDir || files.length === 0) {
  console.error("usage: node validate_schema.mjs NODE_DIR RENDERED.yaml...");
  process.exit(2);
}
const modules = join(nodeDir, "node_modules");
const { parseAllDocuments } = await import(pathToFileURL(join(modules, "yaml", "dist", "index.js")));

let failed = 0;
let checked = 0;
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      console.log(`FAIL: ${file}: YAML: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    const where = `${file}: ${obj.kind} ${obj.metadata?.name}`;
    // apiVersion "apps/v1" -> kubernetes-models/apps/v1/Deployment.js; "v1" -> kubernetes-models/v1/Secret.js
    const path = join(modules, "kubernetes-models", ...String(obj.apiVersion).split("/"), `${obj.kind}.js`);
    let Cls;
    try {
      const mod = await import(pathToFileURL(path));
      Cls = mod[obj.kind];
    } catch (e) {
      console.log(`FAIL: ${where}: no schema for ${obj.apiVersion} ${obj.kind} (${e.code ?? e.message})`);
      failed++;
      continue;
    }
    try {
      new Cls(obj).validate();
      checked++;
    } catch (e) {
      const details = (e.errors ?? []).map((x) => `${x.instancePath} ${x.message}`).join("; ");
      console.log(`FAIL: ${where}: ${details || e.message}`);
      failed++;
    }
  }
}
console.log(`validate_schema: ${checked} objects valid, ${failed} failed (${files.join(", ")})`);
process.exit(failed ? 1 : 0);
