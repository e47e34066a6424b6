import { test } from "node:test";
import assert from "node:assert";
import { layout } from "./layout.js";

test("layout", () => {
  const html = layout("T", "<p>x</p>");
  assert.match(html, /<title>T<\/title>/);
  assert.match(html, /<p>x<\/p>/);
});
