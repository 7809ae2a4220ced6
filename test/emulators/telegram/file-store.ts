import path from 'node:path';
import type { Document, File, PhotoSize } from '@telegraf/types';
import { documentThumbnail, photoVariants } from './photos.ts';
import { badRequest, isUploadedFile, mimeTypeOf, type Params, type UploadedFile } from './protocol.ts';

interface StoredFile {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly filePath: string;
  readonly bytes: Buffer;
  readonly fileName: string | undefined;
}

/** The files of the emulated server: posted and uploaded ones, each size of a photo apart. */
export class FileStore {
  private readonly byId = new Map<string, StoredFile>();
  private readonly byPath = new Map<string, StoredFile>();
  /** Paths handed out by getFile: only those can be downloaded, as with Telegram. */
  private readonly downloadable = new Set<string>();
  private nextNumber = 1;

  constructor(private readonly maxDownloadBytes: number) {}

  bytes(fileId: string): Buffer | undefined {
    return this.byId.get(fileId)?.bytes;
  }

  /** getFile: the download path of a file, refused above the download limit like Telegram. */
  getFile(fileId: string | undefined): File {
    if (fileId === undefined || fileId === '') throw badRequest('file_id is empty');
    const file = this.byId.get(fileId);
    if (!file) throw badRequest('invalid file_id');
    if (file.bytes.length > this.maxDownloadBytes) throw badRequest('file is too big');
    this.downloadable.add(file.filePath);
    return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.bytes.length, file_path: file.filePath };
  }

  /** The bytes behind a download path, once getFile has handed it out. */
  download(filePath: string): Buffer | undefined {
    return this.downloadable.has(filePath) ? this.byPath.get(filePath)?.bytes : undefined;
  }

  /** Stores a photo's sizes, smallest first, the given bytes last. */
  async addPhoto(bytes: Buffer): Promise<PhotoSize[]> {
    const variants = await photoVariants(bytes);
    return variants.map(({ width, height, bytes: variant }) => {
      const file = this.add(variant, 'photos', 'jpg');
      return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: variant.length, width, height };
    });
  }

  /** Stores a file sent as a document, with the thumbnail Telegram makes for images. */
  async addDocument(input: UploadedFile): Promise<Document> {
    const extension = path.extname(input.fileName).slice(1).toLowerCase() || 'dat';
    const file = this.add(input.bytes, 'documents', extension, input.fileName);
    const thumbnail = await documentThumbnail(input.bytes, input.mimeType);
    const thumbFile = thumbnail && this.add(thumbnail.bytes, 'thumbnails', 'jpg');
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_name: input.fileName,
      mime_type: input.mimeType,
      file_size: input.bytes.length,
      ...(thumbnail && thumbFile
        ? {
            thumbnail: {
              file_id: thumbFile.fileId,
              file_unique_id: thumbFile.fileUniqueId,
              file_size: thumbnail.bytes.length,
              width: thumbnail.width,
              height: thumbnail.height,
            },
          }
        : {}),
    };
  }

  /**
   * The bytes of an InputFile parameter, in any form the Bot API takes: an upload (directly or as
   * `attach://<part>`), the file_id of a known file, or an HTTP URL.
   */
  async resolve(value: unknown, params: Params, name: string): Promise<UploadedFile> {
    if (isUploadedFile(value)) return value;
    if (typeof value !== 'string' || value === '') throw badRequest(`there is no ${name} in the request`);
    if (value.startsWith('attach://')) {
      const part = params[value.slice('attach://'.length)];
      if (isUploadedFile(part)) return part;
      throw badRequest(`there is no ${name} in the request`);
    }
    if (/^https?:\/\//i.test(value)) {
      const response = await fetch(value).catch(() => undefined);
      if (!response?.ok) throw badRequest('failed to get HTTP URL content');
      const fileName = path.basename(new URL(value).pathname) || `${name}.dat`;
      return { fileName, mimeType: mimeTypeOf(fileName), bytes: Buffer.from(await response.arrayBuffer()) };
    }
    const stored = this.byId.get(value);
    if (!stored) throw badRequest('wrong file identifier/HTTP URL specified');
    const fileName = stored.fileName ?? path.basename(stored.filePath);
    return { fileName, mimeType: mimeTypeOf(fileName), bytes: stored.bytes };
  }

  private add(bytes: Buffer, folder: 'photos' | 'documents' | 'thumbnails', extension: string, fileName?: string): StoredFile {
    const number = this.nextNumber++;
    const file: StoredFile = {
      // Opaque to bots, like Telegram's; the prefixes imitate the real ones for photos and documents.
      fileId: `${folder === 'documents' ? 'BQAC' : 'AgAC'}AgEmulated${number}`,
      fileUniqueId: `AQADemu${number}`,
      filePath: `${folder}/file_${number}.${extension}`,
      bytes,
      fileName,
    };
    this.byId.set(file.fileId, file);
    this.byPath.set(file.filePath, file);
    return file;
  }
}
