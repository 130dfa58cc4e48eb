#!/usr/bin/env node
/**
 * The AsyncAPI document's two Node tools (the document itself is made in Python: realtime/asyncapi.py).
 *
 *   node scripts/asyncapi.mjs validate <asyncapi.json>   parse it with @asyncapi/parser; exit 1 on any error
 *   node scripts/asyncapi.mjs types <asyncapi.json>      print TypeScript types of its schemas (openapi-typescript)
 *
 * `npm run gen:asyncapi` writes src/realtime/asyncapi.json and src/realtime/messages.ts with them;
 * tests/frontend/test_asyncapi.py runs both against the server's current document.
 */
import { readFileSync } from "node:fs";

import { DiagnosticSeverity, Parser } from "@asyncapi/parser";
import openapiTS, { astToString } from "openapi-typescript";

const [command, file] = process.argv.slice(2);
if (!["validate", "types"].includes(command) || !file) {
  console.error("usage: node scripts/asyncapi.mjs validate|types <asyncapi.json>");
  process.exit(2);
}
const text = readFileSync(file, "utf8");

if (command === "validate") {
  const { document, diagnostics } = await new Parser().parse(text);
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
    console.log(`${level} ${d.code} at ${d.path.join(".") || "(root)"}: ${d.message}`);
  }
  if (!document || errors.length > 0) process.exit(1);
  const channels = document.channels().all().length;
  const messages = document.components().messages().all().length;
  console.log(`valid AsyncAPI ${document.version()}: ${channels} channel(s), ${messages} message(s)`);
} else {
  // The schemas are JSON Schema (AsyncAPI's schema format), which OpenAPI 3.1 shares: wrap them so
  // openapi-typescript turns each into a type, exactly as it does for the REST schema.
  const { components } = JSON.parse(text);
  const wrapped = { openapi: "3.1.0", info: { title: "messages", version: "1" }, paths: {}, components };
  wrapped.components = { schemas: components.schemas };
  const ast = await openapiTS(wrapped, { rootTypes: false });
  process.stdout.write(
    "/**\n * Types of the WebSocket's messages, generated from the AsyncAPI document (realtime/asyncapi.py)\n" +
      " * by `npm run gen:asyncapi`. Do not edit: protocol.ts is checked against them (protocol.contract.ts).\n */\n\n" +
      astToString(ast),
  );
}
