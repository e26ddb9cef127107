import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../test/helpers/livefx-process.js';

export interface BarGroup {
  /** The label under the group, e.g. "WebRTC processed". */
  label: string;
  /** Series name → value; every group should carry the same series. */
  values: Record<string, number>;
}

export interface BarChart {
  title: string;
  unit: string;
  groups: BarGroup[];
  /** Optional horizontal target line. */
  target?: { value: number; label: string };
}

/** One group of one series per label, in the order given: for charts of a single measure such as seconds. */
export function singleSeriesGroups(series: string, valuesByLabel: Record<string, number>): BarGroup[] {
  return Object.entries(valuesByLabel).map(([label, value]) => ({ label, values: { [series]: value } }));
}

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[character]!);
}

/** A group's label in lines of at most `maxChars` characters, broken between words (a longer word keeps a line of its own). */
function wrapLabel(label: string, maxChars: number): string[] {
  const lines: string[] = [];
  for (const word of label.split(/\s+/).filter(Boolean)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= maxChars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** Renders a grouped bar chart as a standalone SVG (no dependencies, readable in any browser). */
export function renderBarChart(chart: BarChart): string {
  const series = [...new Set(chart.groups.flatMap((group) => Object.keys(group.values)))];
  const groupWidth = series.length * 36 + 40;
  const width = 160 + chart.groups.length * groupWidth;
  // Labels wrap to the group's width (about 6.5 px per character at 12 px) instead of running into each other.
  const labels = chart.groups.map((group) => wrapLabel(group.label, Math.max(8, Math.floor((groupWidth - 6) / 6.5))));
  const labelLines = Math.max(1, ...labels.map((lines) => lines.length));
  const height = 346 + labelLines * 14;
  const plotTop = 50;
  const plotBottom = 290;
  const plotLeft = 70;
  const maxValue = Math.max(chart.target?.value ?? 0, ...chart.groups.flatMap((group) => Object.values(group.values))) * 1.15 || 1;
  const y = (value: number): number => plotBottom - (value / maxValue) * (plotBottom - plotTop);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<line x1="${plotLeft}" y1="${plotBottom}" x2="${width - 20}" y2="${plotBottom}" stroke="#333"/>`,
    `<line x1="${plotLeft}" y1="${plotTop}" x2="${plotLeft}" y2="${plotBottom}" stroke="#333"/>`,
  ];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (maxValue / 4) * tick;
    parts.push(`<text x="${plotLeft - 6}" y="${y(value) + 4}" text-anchor="end">${value.toFixed(value < 10 ? 1 : 0)}</text>`);
    parts.push(`<line x1="${plotLeft}" y1="${y(value)}" x2="${width - 20}" y2="${y(value)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="16" y="${(plotTop + plotBottom) / 2}" transform="rotate(-90 16 ${(plotTop + plotBottom) / 2})" text-anchor="middle">${escapeXml(chart.unit)}</text>`);
  let x = plotLeft + 20;
  for (const [groupIndex, group] of chart.groups.entries()) {
    const groupStart = x;
    series.forEach((name, index) => {
      const value = group.values[name];
      if (value === undefined) return;
      parts.push(`<rect x="${x}" y="${y(value)}" width="30" height="${plotBottom - y(value)}" fill="${PALETTE[index % PALETTE.length]}"/>`);
      parts.push(`<text x="${x + 15}" y="${y(value) - 4}" text-anchor="middle" font-size="10">${value.toFixed(value < 10 ? 1 : 0)}</text>`);
      x += 36;
    });
    const centre = (groupStart + x - 6) / 2;
    const lines = labels[groupIndex]!.map((line, index) => `<tspan x="${centre}" dy="${index === 0 ? 0 : 14}">${escapeXml(line)}</tspan>`);
    parts.push(`<text x="${centre}" y="${plotBottom + 18}" text-anchor="middle">${lines.join('')}</text>`);
    x += 40;
  }
  if (chart.target) {
    parts.push(`<line x1="${plotLeft}" y1="${y(chart.target.value)}" x2="${width - 20}" y2="${y(chart.target.value)}" stroke="#c00" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${width - 24}" y="${y(chart.target.value) - 5}" text-anchor="end" fill="#c00">${escapeXml(chart.target.label)}</text>`);
  }
  series.forEach((name, index) => {
    const legendX = plotLeft + index * 150;
    parts.push(`<rect x="${legendX}" y="${height - 28}" width="12" height="12" fill="${PALETTE[index % PALETTE.length]}"/>`);
    parts.push(`<text x="${legendX + 18}" y="${height - 18}">${escapeXml(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Where every benchmark writes its figures: benchmarks/results/ in the sources, whether run from sources or dist/. */
export const RESULTS_DIR = path.join(projectRoot, 'benchmarks', 'results');

/** Prints the result and writes results/<name>.json and results/<name>.svg. */
export async function writeResult(name: string, result: unknown, chart: BarChart, resultsDir = RESULTS_DIR): Promise<void> {
  console.log(JSON.stringify(result, null, 2));
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(resultsDir, `${name}.svg`), renderBarChart(chart));
}

export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}
