// Figures over time for the long-running benchmarks: stacked panels sharing one time axis, as one
// standalone SVG (no dependencies), in the same look as bar-chart.ts.
import { PALETTE } from './bar-chart.js';

export interface LineSeries {
  name: string;
  /** [x, y] pairs, x ascending; NaN values leave a gap in the line. */
  points: [number, number][];
}

export interface LinePanel {
  title: string;
  unit: string;
  series: LineSeries[];
  /** Optional horizontal reference line. */
  target?: { value: number; label: string };
}

export interface LineChart {
  title: string;
  xLabel: string;
  panels: LinePanel[];
  /** Optional vertical marker on every panel, e.g. the end of the warm-up. */
  marker?: { x: number; label: string };
}

const WIDTH = 820;
const PANEL_HEIGHT = 190;
const PLOT_LEFT = 80;
const PLOT_RIGHT = WIDTH - 170;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[character]!);
}

function label(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toPrecision(2);
}

/** The smallest round step × 10^k at or above the value, so axis ticks read as round numbers. */
function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Renders the panels one under the other; each panel's y axis starts at 0 and fits its own series. */
export function renderLineChart(chart: LineChart): string {
  const height = 40 + chart.panels.length * PANEL_HEIGHT + 30;
  const xs = chart.panels.flatMap((panel) => panel.series.flatMap((series) => series.points.map(([x]) => x)));
  // Time axes start at 0, so the first sample sits where it was taken.
  const xMin = Math.min(0, ...xs, chart.marker?.x ?? Infinity);
  const xMax = Math.max(...xs, chart.marker?.x ?? -Infinity);
  const xSpan = xMax - xMin || 1;
  const x = (value: number): number => PLOT_LEFT + ((value - xMin) / xSpan) * (PLOT_RIGHT - PLOT_LEFT);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.panels.forEach((panel, panelIndex) => {
    const top = 40 + panelIndex * PANEL_HEIGHT + 22;
    const bottom = top + PANEL_HEIGHT - 52;
    const ys = panel.series.flatMap((series) => series.points.map(([, y]) => y)).filter((y) => Number.isFinite(y));
    const yMax = niceCeil(Math.max(panel.target?.value ?? 0, ...ys, 0) * 1.05);
    const y = (value: number): number => bottom - (value / yMax) * (bottom - top);
    parts.push(`<text x="${PLOT_LEFT}" y="${top - 8}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    parts.push(`<line x1="${PLOT_LEFT}" y1="${bottom}" x2="${PLOT_RIGHT}" y2="${bottom}" stroke="#333"/>`);
    parts.push(`<line x1="${PLOT_LEFT}" y1="${top}" x2="${PLOT_LEFT}" y2="${bottom}" stroke="#333"/>`);
    for (let tick = 0; tick <= 4; tick++) {
      const value = (yMax / 4) * tick;
      parts.push(`<line x1="${PLOT_LEFT}" y1="${y(value)}" x2="${PLOT_RIGHT}" y2="${y(value)}" stroke="#eee"/>`);
      parts.push(`<text x="${PLOT_LEFT - 6}" y="${y(value) + 4}" text-anchor="end">${label(value)}</text>`);
    }
    parts.push(`<text x="18" y="${(top + bottom) / 2}" transform="rotate(-90 18 ${(top + bottom) / 2})" text-anchor="middle">${escapeXml(panel.unit)}</text>`);
    for (let tick = 0; tick <= 5; tick++) {
      const value = xMin + (xSpan / 5) * tick;
      parts.push(`<text x="${x(value)}" y="${bottom + 15}" text-anchor="middle" fill="#555">${label(value)}</text>`);
    }
    if (chart.marker) {
      parts.push(`<line x1="${x(chart.marker.x)}" y1="${top}" x2="${x(chart.marker.x)}" y2="${bottom}" stroke="#999" stroke-dasharray="4 3"/>`);
      if (panelIndex === 0) parts.push(`<text x="${x(chart.marker.x) + 4}" y="${top + 10}" fill="#777" font-size="10">${escapeXml(chart.marker.label)}</text>`);
    }
    if (panel.target) {
      parts.push(`<line x1="${PLOT_LEFT}" y1="${y(panel.target.value)}" x2="${PLOT_RIGHT}" y2="${y(panel.target.value)}" stroke="#c00" stroke-dasharray="6 4"/>`);
      parts.push(`<text x="${PLOT_RIGHT - 4}" y="${y(panel.target.value) - 4}" text-anchor="end" fill="#c00" font-size="10">${escapeXml(panel.target.label)}</text>`);
    }
    panel.series.forEach((series, seriesIndex) => {
      const colour = PALETTE[seriesIndex % PALETTE.length]!;
      // A NaN point starts a new run of the line.
      const runs: string[][] = [[]];
      for (const [pointX, pointY] of series.points) {
        if (!Number.isFinite(pointY)) runs.push([]);
        else runs.at(-1)!.push(`${x(pointX).toFixed(1)},${y(pointY).toFixed(1)}`);
      }
      for (const run of runs) {
        if (run.length === 1) parts.push(`<circle cx="${run[0]!.split(',')[0]}" cy="${run[0]!.split(',')[1]}" r="2.5" fill="${colour}"/>`);
        else if (run.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.8" points="${run.join(' ')}"/>`);
      }
      const legendY = top + 4 + seriesIndex * 16;
      parts.push(`<rect x="${PLOT_RIGHT + 14}" y="${legendY}" width="12" height="3" fill="${colour}"/>`);
      parts.push(`<text x="${PLOT_RIGHT + 32}" y="${legendY + 5}">${escapeXml(series.name)}</text>`);
    });
  });
  parts.push(`<text x="${(PLOT_LEFT + PLOT_RIGHT) / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
