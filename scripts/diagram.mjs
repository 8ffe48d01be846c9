// The renderer behind scripts/diagram.py: Graphviz compiled to WebAssembly (@viz-js/viz) for DOT -> SVG and
// @resvg/resvg-js with the DejaVu fonts of dejavu-fonts-ttf for SVG -> PNG previews. All three are pinned in
// package.json / package-lock.json (installed by `npm ci`): no `dot` binary, no system fonts.
//
//   node scripts/diagram.mjs < jobs.json > results.json
//
// jobs.json is a list of {"dot": "<DOT text>"} (answered by {"svg": "<SVG text>"}) and
// {"svg": "<SVG text>", "png": "<path>", "width": <pixels>} (answered by {"png": "<path>"}, the file written).
// One process renders every picture: the WebAssembly module is instantiated once.
//
// Why the SVG is byte-stable and the PNG is not: Graphviz runs inside WebAssembly, whose arithmetic is exactly
// specified (no host libm, no fontconfig: text widths come from Graphviz's built-in font metrics), so the same
// DOT gives the same SVG on every machine. resvg is a native addon built per platform (x64, arm64, ...), so its
// anti-aliased pixels may differ in the last bit between machines: PNGs are previews, never committed.
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { instance } from "@viz-js/viz";
import { Resvg } from "@resvg/resvg-js";

const jobs = JSON.parse(readFileSync(0, "utf8"));
const viz = await instance();
const require = createRequire(import.meta.url);
let fontFiles = null;

const results = jobs.map((job, index) => {
  if (job.dot !== undefined) {
    const result = viz.render(job.dot, { format: "svg", engine: "dot" });
    if (result.status !== "success") {
      for (const error of result.errors) console.error(`graphviz (picture ${index + 1}) ${error.level ?? "error"}: ${error.message}`);
      process.exit(1);
    }
    for (const error of result.errors) console.error(`graphviz (picture ${index + 1}) ${error.level ?? "warning"}: ${error.message}`);
    return { svg: result.output };
  }
  if (fontFiles === null) {
    const fontDir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
    fontFiles = readdirSync(fontDir).filter((f) => f.startsWith("DejaVuSans")).sort().map((f) => join(fontDir, f));
  }
  const resvg = new Resvg(job.svg, {
    background: "white",
    fitTo: { mode: "width", value: job.width },
    font: { loadSystemFonts: false, fontFiles, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  writeFileSync(job.png, resvg.render().asPng());
  return { png: job.png };
});
process.stdout.write(JSON.stringify(results));
