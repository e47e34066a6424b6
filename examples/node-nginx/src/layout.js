// layout wraps a page body in the site's HTML shell.
export function layout(title, body) {
  return `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>${title}</title></head>
  <body>
    <div id="app"></div>
${body}
    <script type="module" src="/assets/main.js"></script>
  </body>
</html>
`;
}
