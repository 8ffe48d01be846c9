// Render a Graphviz DOT file to SVG (Graphviz compiled to WebAssembly, @viz-js/viz) and PNG (@resvg/resvg-js),
// with the DejaVu fonts of the dejavu-fonts-ttf package: no `dot` binary, no system fonts, the same pixels on
// every machine. All three packages are pinned in package.json / package-lock.json (installed by `npm ci`).
//
//   node scripts/diagram.mjs <in.dot> <out.svg> [<out.png>]
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { instance } from "@viz-js/viz";
import { Resvg } from "@resvg/resvg-js";

const [, , dotPath, svgPath, pngPath] = process.argv;
if (!dotPath || !svgPath) {
  console.error("usage: node scripts/diagram.mjs <in.dot> <out.svg> [<out.png>]");
  process.exit(2);
}

const viz = await instance();
const result = viz.render(readFileSync(dotPath, "utf8"), { format: "svg", engine: "dot" });
if (result.status !== "success") {
  for (const error of result.errors) console.error(`graphviz ${error.level ?? "error"}: ${error.message}`);
  process.exit(1);
}
writeFileSync(svgPath, result.output);

if (pngPath) {
  const require = createRequire(import.meta.url);
  const fontDir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
  const fontFiles = readdirSync(fontDir).filter((f) => f.startsWith("DejaVuSans")).map((f) => join(fontDir, f));
  const resvg = new Resvg(result.output, {
    background: "white",
    fitTo: { mode: "zoom", value: 1.25 },
    font: { loadSystemFonts: false, fontFiles, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  writeFileSync(pngPath, resvg.render().asPng());
}
