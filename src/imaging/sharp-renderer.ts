import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import type { Box, DecodedImage, Renderer, SheetFace, SimilarityPlotData } from '../core/index.ts';

/** The contact sheet's geometry, exported so that callers and tests can reason about its size. */
export const SHEET_LAYOUT = Object.freeze({
  tile: 160,
  gap: 6,
  columns: 5,
  /** More faces than this would make tiles too small to recognise on a phone; the rest are counted. */
  maxTiles: 30,
  /** Margin around the face box on each side, as a fraction of the box's longer side. */
  margin: 0.25,
  captionSize: 18,
  captionLineHeight: 24,
  captionMaxLines: 2,
});

/** The similarity plot's geometry: the plotting area runs from `left` to `width - right`. */
export const PLOT_LAYOUT = Object.freeze({
  width: 800,
  height: 450,
  left: 64,
  right: 24,
  top: 76,
  bottom: 58,
});

const FONT = "'DejaVu Sans', 'Noto Sans', Arial, sans-serif";
const SHEET_BACKGROUND = '#f4f4f4';
/** Fills the part of a crop that lies outside the photo, so the face stays centred in its tile. */
const PAD_GREY = '#808080';
const SAME_COLOUR = '#1f77b4';
const DIFFERENT_COLOUR = '#ff7f0e';
const THRESHOLD_COLOUR = '#d62728';
const PROPOSED_COLOUR = '#2ca02c';
const CLOSEST_COLOUR = '#444444';

/** Draws contact sheets and similarity plots with sharp, text through SVG overlays (librsvg). */
export class SharpRenderer implements Renderer {
  /**
   * A grid of square face tiles, each labelled in its top-left corner, with the caption above.
   * Throws RangeError for an empty list or a box that is not a number: both are the caller's bugs.
   */
  async contactSheet(faces: readonly SheetFace[], caption?: string): Promise<Uint8Array> {
    if (faces.length === 0) throw new RangeError('contactSheet needs at least one face');
    const { tile, gap, maxTiles, captionSize, captionLineHeight, captionMaxLines } = SHEET_LAYOUT;
    const shown = faces.slice(0, maxTiles);
    const columns = Math.min(SHEET_LAYOUT.columns, shown.length);
    const rows = Math.ceil(shown.length / columns);
    const gridWidth = columns * tile + (columns + 1) * gap;
    // A few tiles under a long caption: widen the sheet (up to a full row) rather than cut it short.
    const fullWidth = SHEET_LAYOUT.columns * tile + (SHEET_LAYOUT.columns + 1) * gap;
    const captionWidth = caption === undefined ? 0 : Math.ceil(textWidth(caption, captionSize, false)) + 2 * gap;
    const width = Math.max(gridWidth, Math.min(fullWidth, captionWidth));
    const gridLeft = Math.floor((width - gridWidth) / 2);

    const lines = caption === undefined ? [] : wrapText(caption, width - 2 * gap, captionSize, false, captionMaxLines);
    if (faces.length > shown.length) lines.push(`+${faces.length - shown.length} more not shown`);
    const captionHeight = lines.length === 0 ? 0 : lines.length * captionLineHeight + gap * 2;
    const height = captionHeight + rows * tile + (rows + 1) * gap;

    const origins = shown.map((_, i) => ({
      left: gridLeft + gap + (i % columns) * (tile + gap),
      top: captionHeight + gap + Math.floor(i / columns) * (tile + gap),
    }));
    const crops = await Promise.all(shown.map((face) => cropTile(face.image, face.box, tile)));
    const layers: OverlayOptions[] = [];
    crops.forEach((crop, i) => {
      const { left, top } = origins[i]!;
      layers.push({ input: { create: { width: tile, height: tile, channels: 3, background: PAD_GREY } }, left, top });
      if (crop) layers.push({ input: crop.data, raw: { width: crop.width, height: crop.height, channels: 3 }, left: left + crop.left, top: top + crop.top });
    });

    const svg: string[] = [];
    lines.forEach((line, i) => {
      const y = gap + i * captionLineHeight + captionSize;
      svg.push(`<text x="${gap}" y="${y}" font-family="${FONT}" font-size="${captionSize}" fill="#222">${escapeXml(line)}</text>`);
    });
    shown.forEach((face, i) => svg.push(labelBadge(face.label, origins[i]!.left, origins[i]!.top, tile)));
    layers.push({ input: svgBuffer(width, height, svg.join('')), left: 0, top: 0 });

    return sharp({ create: { width, height, channels: 3, background: SHEET_BACKGROUND } })
      .composite(layers)
      .png()
      .toBuffer();
  }

  /**
   * Overlaid histograms of same-person and different-person similarities, each normalised to the
   * share of its own pairs per bin: there are usually hundreds of times more different-person
   * pairs, and on one count axis the same-person bars would be invisible.
   */
  async similarityPlot(data: SimilarityPlotData): Promise<Uint8Array> {
    if (!Number.isFinite(data.threshold)) throw new RangeError(`threshold ${data.threshold} is not a number`);
    const same = data.same.filter(Number.isFinite);
    const different = data.different.filter(Number.isFinite);
    const closest = (data.closest ?? []).filter(Number.isFinite);
    const { width, height, left, right, top, bottom } = PLOT_LAYOUT;
    const plotRight = width - right;
    const plotBottom = height - bottom;

    // A loop, not Math.min(...scores): a big group has more pairs than a call can take arguments.
    let lowest = Math.min(data.threshold, data.proposed ?? 1, 1);
    for (const score of [...same, ...different, ...closest]) lowest = Math.min(lowest, score);
    // The small epsilon keeps 0.6 (stored as 0.59999…) from flooring to 0.55.
    const xMin = Math.min(0.95, Math.floor(lowest * 20 + 1e-9) / 20);
    const span = 1 - xMin;
    const binWidth = [0.005, 0.01, 0.02, 0.025, 0.05, 0.1].find((w) => span / w <= 50) ?? 0.1;
    const bins = Math.round(span / binWidth);
    const sameShares = histogram(same, xMin, binWidth, bins);
    const differentShares = histogram(different, xMin, binWidth, bins);
    const closestShares = histogram(closest, xMin, binWidth, bins);
    // With no pairs at all the axis still needs a scale; 10% is as good as any.
    const peak = Math.max(...sameShares, ...differentShares, ...closestShares) || 10;
    const yStep = niceStep(peak, 6);
    const yMax = Math.ceil(peak / yStep - 1e-9) * yStep;
    const xOf = (value: number): number => plotX(value, xMin);
    const yOf = (share: number): number => plotBottom - (share / yMax) * (plotBottom - top);

    const svg: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
    const text = (x: number, y: number, content: string, attributes = ''): string => `<text x="${x}" y="${y}" ${attributes}>${escapeXml(content)}</text>`;

    for (let i = 0; i * yStep <= yMax + 1e-9; i++) {
      const tick = i * yStep;
      const y = Math.round(yOf(tick)) + 0.5;
      svg.push(`<line x1="${left}" y1="${y}" x2="${plotRight}" y2="${y}" stroke="#e4e4e4"/>`);
      svg.push(text(left - 6, y + 4, `${formatNumber(tick)}%`, 'text-anchor="end"'));
    }
    const xStep = [0.05, 0.1, 0.2, 0.25, 0.5].find((s) => span / s <= 12) ?? 0.5;
    for (let i = Math.ceil(xMin / xStep - 1e-9); i * xStep <= 1 + 1e-9; i++) {
      const value = i * xStep;
      const x = Math.round(xOf(value)) + 0.5;
      svg.push(`<line x1="${x}" y1="${plotBottom}" x2="${x}" y2="${plotBottom + 5}" stroke="#222"/>`);
      svg.push(text(x, plotBottom + 20, value.toFixed(2), 'text-anchor="middle"'));
    }

    for (const [shares, colour] of [
      [differentShares, DIFFERENT_COLOUR],
      [sameShares, SAME_COLOUR],
    ] as const) {
      shares.forEach((share, i) => {
        if (share === 0) return;
        const x = xOf(xMin + i * binWidth);
        const y = yOf(share);
        svg.push(
          `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${(xOf(xMin + (i + 1) * binWidth) - x).toFixed(2)}" height="${(plotBottom - y).toFixed(2)}" fill="${colour}" fill-opacity="0.55"/>`,
        );
      });
    }
    // The photos' faces as a stepped outline over the bars: unlabelled, so not a third colour of bar.
    if (closest.length > 0) {
      const steps = closestShares.map(
        (share, i) => `H${xOf(xMin + i * binWidth).toFixed(2)} V${yOf(share).toFixed(2)} H${xOf(xMin + (i + 1) * binWidth).toFixed(2)}`,
      );
      svg.push(`<path d="M${left} ${plotBottom} ${steps.join(' ')} V${plotBottom}" fill="none" stroke="${CLOSEST_COLOUR}" stroke-width="2"/>`);
    }
    svg.push(`<path d="M${left} ${top} V${plotBottom} H${plotRight}" fill="none" stroke="#222"/>`);

    // Lines sit on whole pixels with an even stroke width so that they cover exact columns.
    const marker = (value: number, label: string, colour: string, row: number, dashed: boolean, preferLeft: boolean): void => {
      const x = Math.round(xOf(value));
      svg.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${plotBottom}" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="7 5"' : ''}/>`);
      const room = textWidth(label, 13, true) + 8;
      const toTheLeft = preferLeft ? x - room >= left : x + room > plotRight;
      const labelX = toTheLeft ? x - 6 : x + 6;
      svg.push(
        text(
          labelX,
          top + 16 + row * 18,
          label,
          `font-weight="bold" fill="${colour}" text-anchor="${toTheLeft ? 'end' : 'start'}" stroke="#ffffff" stroke-width="3" paint-order="stroke"`,
        ),
      );
    };
    // The two labels go on either side of their pair of lines, so that neither crosses the other's line.
    const proposed = data.proposed !== undefined && Number.isFinite(data.proposed) ? data.proposed : undefined;
    const proposedBelow = proposed !== undefined && proposed < data.threshold;
    marker(data.threshold, `threshold ${formatNumber(data.threshold)}`, THRESHOLD_COLOUR, 0, false, false);
    if (proposed !== undefined) marker(proposed, `proposed ${formatNumber(proposed)}`, PROPOSED_COLOUR, 1, true, proposedBelow);

    if (data.title !== undefined) {
      const [title = ''] = wrapText(data.title, width - 2 * left, 18, true, 1);
      svg.push(text(width / 2, 26, title, 'font-size="18" font-weight="bold" text-anchor="middle"'));
    }
    let legendX = left;
    for (const [colour, name, count] of [
      [SAME_COLOUR, 'same person', same.length],
      [DIFFERENT_COLOUR, 'different people', different.length],
    ] as const) {
      const label = `${name}: ${count === 0 ? 'no pairs yet' : `n=${count.toLocaleString('en-US')}`}`;
      svg.push(`<rect x="${legendX}" y="44" width="14" height="14" fill="${colour}" fill-opacity="0.55"/>`);
      svg.push(text(legendX + 20, 56, label));
      legendX += 20 + textWidth(label, 13, false) + 24;
    }
    if (closest.length > 0) {
      svg.push(`<line x1="${left}" y1="67" x2="${left + 14}" y2="67" stroke="${CLOSEST_COLOUR}" stroke-width="2"/>`);
      svg.push(text(left + 20, 71, `faces in the photos, best match to anyone known (unlabelled): n=${closest.length.toLocaleString('en-US')}`));
    }
    svg.push(text(plotRight, 56, "bars: % of each group's pairs", 'text-anchor="end" fill="#555"'));
    // Not a raw cosine: the engine maps its models' cosines onto one scale (README, "How it recognises faces").
    svg.push(text((left + plotRight) / 2, height - 12, "similarity (facefile's scale)", 'text-anchor="middle"'));
    const yLabelAt = `16 ${(top + plotBottom) / 2}`;
    svg.push(text(16, (top + plotBottom) / 2, `% of pairs per ${formatNumber(binWidth)} bin`, `text-anchor="middle" transform="rotate(-90 ${yLabelAt})"`));

    const body = `<g font-family="${FONT}" font-size="13" fill="#222">${svg.join('')}</g>`;
    return sharp(svgBuffer(width, height, body))
      .flatten({ background: '#ffffff' })
      .png()
      .toBuffer();
  }
}

/** The x pixel of a similarity on the plot whose axis starts at `xMin` (the axis always ends at 1). */
export function plotX(value: number, xMin: number): number {
  const { width, left, right } = PLOT_LAYOUT;
  return left + ((value - xMin) / (1 - xMin)) * (width - right - left);
}

interface Crop {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  /** Where the crop sits inside its tile: not at 0,0 when the square runs past the photo's edge. */
  readonly left: number;
  readonly top: number;
}

/**
 * The part of the square around the box (plus margin) that lies inside the photo, scaled to the
 * tile. Only that part is extracted and scaled, never the padded square itself, so a face that
 * fills a 4096 px photo does not allocate a 6000 px square first.
 */
async function cropTile(image: DecodedImage, box: Box, tile: number): Promise<Crop | undefined> {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) throw new RangeError(`face box ${JSON.stringify(box)} is not a number`);
  const side = Math.max(1, Math.round(Math.max(box.width, box.height) * (1 + 2 * SHEET_LAYOUT.margin)));
  const squareLeft = Math.round(box.x + box.width / 2 - side / 2);
  const squareTop = Math.round(box.y + box.height / 2 - side / 2);
  const x0 = Math.max(0, squareLeft);
  const y0 = Math.max(0, squareTop);
  const x1 = Math.min(image.width, squareLeft + side);
  const y1 = Math.min(image.height, squareTop + side);
  // A box wholly outside the photo leaves a grey tile: still labelled, so the numbering holds.
  if (x1 <= x0 || y1 <= y0) return undefined;

  const scale = tile / side;
  const left = Math.min(tile - 1, Math.round((x0 - squareLeft) * scale));
  const top = Math.min(tile - 1, Math.round((y0 - squareTop) * scale));
  const width = Math.max(1, Math.min(tile - left, Math.round((x1 - x0) * scale)));
  const height = Math.max(1, Math.min(tile - top, Math.round((y1 - y0) * scale)));
  const pixels = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  const data = await sharp(pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width, height, left, top };
}

/** A dark rounded badge with the label in large white type, in the tile's top-left corner. */
function labelBadge(label: string, tileLeft: number, tileTop: number, tile: number): string {
  const inset = 6;
  const maxWidth = tile - 2 * inset;
  let size = 28;
  // Long labels (names rather than numbers) shrink before they are cut.
  while (size > 14 && textWidth(label, size, true) + size * 0.7 > maxWidth) size -= 2;
  const [text = ''] = wrapText(label, maxWidth - size * 0.7, size, true, 1);
  const badgeWidth = Math.min(maxWidth, Math.ceil(textWidth(text, size, true) + size * 0.7));
  const badgeHeight = Math.round(size * 1.4);
  const x = tileLeft + inset;
  const y = tileTop + inset;
  return (
    `<rect x="${x}" y="${y}" width="${badgeWidth}" height="${badgeHeight}" rx="${Math.round(size * 0.35)}" fill="#000000" fill-opacity="0.72"/>` +
    `<text x="${x + badgeWidth / 2}" y="${y + badgeHeight / 2 + size * 0.36}" font-family="${FONT}" font-size="${size}" font-weight="bold" fill="#ffffff" text-anchor="middle">${escapeXml(text)}</text>`
  );
}

function svgBuffer(width: number, height: number, body: string): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${body}</svg>`);
}

/**
 * Escapes text for SVG. Labels and captions can be member names: an unescaped `<` or `&` would make
 * librsvg refuse the whole overlay, and control characters are not allowed in XML at all.
 */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/**
 * An estimate of the rendered width: SVG text cannot be measured before it is drawn. CJK and emoji
 * are about one em wide, everything else about 0.6 em in DejaVu Sans (a little more in bold).
 */
function textWidth(text: string, size: number, bold: boolean): number {
  let ems = 0;
  for (const char of text) ems += char.codePointAt(0)! >= 0x2e80 ? 1 : bold ? 0.68 : 0.6;
  return ems * size;
}

/** Greedy word wrap to at most `maxLines` lines; what does not fit ends in an ellipsis. */
function wrapText(text: string, maxWidth: number, size: number, bold: boolean, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  for (const [index, word] of words.entries()) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (textWidth(candidate, size, bold) <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    line = word;
    if (lines.length === maxLines) {
      line = words.slice(index).join(' ');
      break;
    }
  }
  if (line !== '' && lines.length < maxLines) lines.push(line);
  else if (line !== '') lines[maxLines - 1] = `${lines[maxLines - 1] ?? ''} ${line}`;
  return lines.map((l) => ellipsize(l, maxWidth, size, bold));
}

function ellipsize(text: string, maxWidth: number, size: number, bold: boolean): string {
  if (textWidth(text, size, bold) <= maxWidth) return text;
  const chars = Array.from(text);
  while (chars.length > 0 && textWidth(`${chars.join('')}…`, size, bold) > maxWidth) chars.pop();
  return `${chars.join('').trimEnd()}…`;
}

/** Each bin's share of the scores, in percent. Scores above 1 (rounding) fall in the last bin. */
function histogram(scores: readonly number[], xMin: number, binWidth: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const score of scores) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((score - xMin) / binWidth + 1e-9)));
    counts[bin]! += 1;
  }
  return counts.map((count) => (scores.length === 0 ? 0 : (100 * count) / scores.length));
}

/** A 1-2-5 step that puts at most `maxTicks` ticks up to `max`. */
function niceStep(max: number, maxTicks: number): number {
  for (let magnitude = 1e-3; ; magnitude *= 10) {
    for (const step of [1, 2, 5]) if (max / (step * magnitude) <= maxTicks) return step * magnitude;
  }
}

/** Up to three decimals, without trailing zeros: 0.93, 0.925, 10. */
function formatNumber(value: number): string {
  return String(Number(value.toFixed(3)));
}
