import path from 'node:path';
import sharp from 'sharp';
import { GROUP } from './datasets.ts';

/** Two photos side by side, each scaled to its height, bottoms aligned, on grey. */
async function sideBySide(left: { file: string; height: number }, right: { file: string; height: number }): Promise<Buffer> {
  const [a, b] = await Promise.all([left, right].map((side) => sharp(side.file).resize({ height: side.height }).toBuffer({ resolveWithObject: true })));
  const height = Math.max(left.height, right.height);
  return sharp({ create: { width: a!.info.width + b!.info.width + 40, height, channels: 3, background: '#808080' } })
    .composite([
      { input: a!.data, left: 0, top: height - left.height },
      { input: b!.data, left: a!.info.width + 40, top: height - right.height },
    ])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * Two photos of obama, each beside someone else with a face of about his size (the detector finds
 * them at 73/74 and 178/179 px): no face of either is clearly the biggest, and only obama is in
 * both. Written into `folder` as with-biden.jpg and with-kit.jpg.
 */
export async function writeObamaWithCompanions(folder: string): Promise<void> {
  await sharp(
    await sideBySide({ file: path.join(GROUP, 'obama', 'obama.jpg'), height: 215 }, { file: path.join(GROUP, 'biden', 'biden.jpg'), height: 400 }),
  ).toFile(path.join(folder, 'with-biden.jpg'));
  await sharp(
    await sideBySide({ file: path.join(GROUP, 'obama', 'obama2.jpg'), height: 400 }, { file: path.join(GROUP, 'kit_harington', 'john1.jpeg'), height: 400 }),
  ).toFile(path.join(folder, 'with-kit.jpg'));
}
