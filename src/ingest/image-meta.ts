import exifReader from 'exif-reader';

/** What the catalog keeps of a JPEG or PNG: its size and the EXIF tags a camera or pipeline wrote. */
export interface ImageInfo {
  format: string;
  width: number;
  height: number;
  channels: number;
  exif?: Record<string, unknown>;
}

export class ImageError extends Error {
  override name = 'ImageError';
}

/** Flattens EXIF groups to "Group.Tag" → JSON-safe value (dates as ISO text, buffers dropped). */
function flattenExif(raw: Buffer): Record<string, unknown> | undefined {
  let parsed: ReturnType<typeof exifReader>;
  try {
    parsed = exifReader(raw);
  } catch {
    return undefined; // unreadable EXIF does not make the picture unusable
  }
  const out: Record<string, unknown> = {};
  for (const [group, tags] of Object.entries(parsed)) {
    if (!tags || typeof tags !== 'object') continue;
    for (const [tag, value] of Object.entries(tags as Record<string, unknown>)) {
      if (value instanceof Date)
        out[`${group}.${tag}`] = Number.isNaN(value.getTime()) ? null : value.toISOString();
      else if (Buffer.isBuffer(value)) continue;
      else if (typeof value === 'string' || typeof value === 'number' || Array.isArray(value))
        out[`${group}.${tag}`] = value;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/** Reads dimensions and EXIF from the image's header (sharp decodes no pixels for this). */
export async function imageInfo(bytes: Uint8Array, name: string): Promise<ImageInfo> {
  // Loaded on first use: most lakes are FITS, and every extraction thread would pay for it.
  const { default: sharp } = await import('sharp');
  try {
    const m = await sharp(bytes).metadata();
    if (!m.width || !m.height || !m.format) throw new Error('no dimensions');
    const info: ImageInfo = { format: m.format, width: m.width, height: m.height, channels: m.channels ?? 0 };
    const exif = m.exif ? flattenExif(m.exif) : undefined;
    if (exif) info.exif = exif;
    return info;
  } catch (err) {
    throw new ImageError(`${name}: not a readable image (${(err as Error).message})`);
  }
}
