// A small dependency-free SVG of the soak's time series: RSS and V8 heap (MB) above, open fds and active
// timers below, against seconds since the start, with the phase boundaries marked.

export interface ChartSample {
  t_s: number;
  rss_mb: number;
  heap_used_mb: number;
  fds: number;
  timers: number;
  delivered: number;
}

interface Series {
  name: string;
  color: string;
  values: number[];
}

const WIDTH = 900;
const PANEL = 220;
const LEFT = 60;
const RIGHT = 20;
const TOP = 30;
const GAP = 50;

export function soakChart(samples: ChartSample[], marks: { t_s: number; label: string }[], title: string): string {
  const times = samples.map((s) => s.t_s);
  const tMax = Math.max(...times, 1);
  const x = (t: number): number => LEFT + ((WIDTH - LEFT - RIGHT) * t) / tMax;
  const parts: string[] = [];
  const panel = (top: number, unit: string, series: Series[]): void => {
    const yMax = niceCeil(Math.max(1, ...series.flatMap((s) => s.values)));
    const y = (v: number): number => top + PANEL - (PANEL * v) / yMax;
    parts.push(
      `<rect x="${LEFT}" y="${top}" width="${WIDTH - LEFT - RIGHT}" height="${PANEL}" fill="none" stroke="#999"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      parts.push(
        `<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(0)}</text>`,
        `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      );
    }
    parts.push(
      `<text x="14" y="${top + PANEL / 2}" font-size="12" transform="rotate(-90 14 ${top + PANEL / 2})" text-anchor="middle">${unit}</text>`,
    );
    series.forEach((s, n) => {
      const points = s.values.map((v, i) => `${x(times[i] as number).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${points}"/>`);
      parts.push(`<text x="${LEFT + 10 + n * 160}" y="${top + 14}" font-size="12" fill="${s.color}">${s.name}</text>`);
    });
    for (const m of marks) {
      parts.push(
        `<line x1="${x(m.t_s)}" x2="${x(m.t_s)}" y1="${top}" y2="${top + PANEL}" stroke="#888" stroke-dasharray="4 3"/>`,
      );
    }
  };
  const top2 = TOP + PANEL + GAP;
  panel(TOP, "MB", [
    { name: "RSS", color: "#c0392b", values: samples.map((s) => s.rss_mb) },
    { name: "V8 heap used", color: "#2471a3", values: samples.map((s) => s.heap_used_mb) },
  ]);
  panel(top2, "count", [
    { name: "open fds", color: "#7d3c98", values: samples.map((s) => s.fds) },
    { name: "active timers", color: "#d68910", values: samples.map((s) => s.timers) },
  ]);
  // Labels staggered, as marks can be close together.
  marks.forEach((m, n) => {
    const y = TOP + PANEL + 14 + (n % 2) * 13;
    parts.push(`<text x="${x(m.t_s) + 3}" y="${y}" font-size="11" fill="#555">${escapeXml(m.label)}</text>`);
  });
  const bottom = top2 + PANEL;
  const step = niceCeil(tMax / 6);
  for (let t = 0; t <= tMax; t += step) {
    parts.push(`<text x="${x(t)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${t.toFixed(0)} s</text>`);
  }
  const height = bottom + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="13">${escapeXml(title)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
