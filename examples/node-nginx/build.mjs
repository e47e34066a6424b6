// Renders pages/*.md to HTML with marked, names each page after its title with
// slugify, writes an index, and copies public/ and the browser script: a static
// site in dist/, ready for any web server.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { marked } from "marked";
import slugify from "slugify";
import { greet } from "./src/greet.js";
import { layout } from "./src/layout.js";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });

const pages = readdirSync("pages")
  .filter((f) => f.endsWith(".md"))
  .sort()
  .map((f) => {
    const md = readFileSync(`pages/${f}`, "utf8");
    const title = (md.match(/^# (.+)$/m) ?? [, f])[1];
    return { title, file: `${slugify(title, { lower: true, strict: true })}.html`, html: marked.parse(md) };
  });

for (const p of pages) writeFileSync(`${out}/${p.file}`, layout(p.title, p.html));
const list = pages.map((p) => `<li><a href="${p.file}">${p.title}</a></li>`).join("\n");
writeFileSync(`${out}/index.html`, layout("node-nginx", `<h1>${greet("earth")}</h1>\n<ul>\n${list}\n</ul>`));
cpSync("public", out, { recursive: true });
cpSync("src/greet.js", `${out}/assets/greet.js`);
cpSync("src/main.js", `${out}/assets/main.js`);
console.log(`built ${pages.length + 1} pages into ${out}/`);
