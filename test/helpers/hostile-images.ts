import sharp from 'sharp';

/**
 * Small files that take libvips minutes, as the issue found them (each made here, never stored).
 * `scans` is a progressive JPEG of `side` x `side` grey pixels followed by that many extra AC
 * scans, each one EOB run over every block: legal enough for libjpeg, and each a full pass.
 */
export async function manyScanJpeg(scans = 100_000, side = 2048): Promise<Buffer> {
  const base = await sharp({ create: { width: side, height: side, channels: 3, background: '#808080' } })
    .greyscale()
    .jpeg({ progressive: true })
    .toBuffer();
  const end = base.lastIndexOf(Buffer.from([0xff, 0xd9]));
  // An AC Huffman table (class 1, id 1) whose one code, '0', is EOB14: a run of 16384 blocks.
  const table = Buffer.from([0xff, 0xc4, 0x00, 0x14, 0x13, 1, ...new Array<number>(15).fill(0), 0xe0]);
  const blocks = Math.ceil(side / 8) ** 2;
  let bits = '0'.repeat(15 * Math.ceil(blocks / 16384));
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
  const data = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  // Start of scan: one component (id 1, tables 0/1), spectral band 1..63, successive approximation 0.
  const scan = Buffer.concat([Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x01, 0x01, 0x3f, 0x00]), data]);
  return Buffer.concat([base.subarray(0, end), table, Buffer.concat(new Array<Buffer>(scans).fill(scan)), base.subarray(end)]);
}

/** An SVG of 10,000 page-sized, half-transparent rectangles in 600 bytes: five levels of groups, each `<use>`-ing the one below ten times. */
export function useFanOutSvg(): Buffer {
  const levels = ['<g id="l0"><rect width="1000" height="1000" fill-opacity="0.5"/></g>'];
  for (let level = 1; level < 5; level++) levels.push(`<g id="l${level}">${`<use xlink:href="#l${level - 1}"/>`.repeat(10)}</g>`);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="1000" height="1000"><defs>${levels.join('')}</defs><use xlink:href="#l4"/></svg>`,
  );
}

/** A 200-byte SVG whose turbulence filter has 4000 octaves over sixteen million pixels. */
export function turbulenceSvg(): Buffer {
  return Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"><filter id="f"><feTurbulence baseFrequency="0.05" numOctaves="4000"/></filter><rect width="100%" height="100%" filter="url(#f)"/></svg>',
  );
}
