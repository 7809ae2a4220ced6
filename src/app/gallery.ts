import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Log } from '../core/index.ts';
import type { PhotoLibrary } from '../core/library/index.ts';
import { PreviewRenderer, Signer, discordGalleryLink, startGalleryServer, type GalleryServer, type MemberCheck } from '../web/gallery/index.ts';
import { DECODED_MAX_SIDE, createDecoder } from './parts.ts';

type GallerySettings = NonNullable<Config['gallery']>;

/**
 * The signer of gallery links and sessions. Every bot process of a deployment must make the same
 * one: from GALLERY_SECRET, or else from the bot tokens they all share.
 */
export function gallerySigner(config: Config, gallery: GallerySettings): Signer {
  const secret =
    gallery.secret ??
    createHash('sha256')
      .update(`facefile gallery\0${config.telegram?.token ?? ''}\0${config.discord?.token ?? ''}`)
      .digest('hex');
  return new Signer(secret);
}

/** The Discord adapter's `galleryLink`: a signed link for one member of one server. */
export function discordLinks(gallery: GallerySettings, signer: Signer): (group: string, user: { id: string; name: string }) => string {
  return (group, user) => discordGalleryLink(gallery.publicUrl, signer, group, user);
}

/**
 * Starts the gallery's web server over the library, with each configured platform's membership
 * check; closed with the returned server (its decoder too).
 */
export async function startGallery(
  config: Config,
  gallery: GallerySettings,
  signer: Signer,
  library: PhotoLibrary,
  log: Log,
  members: { readonly telegram?: MemberCheck; readonly discord?: MemberCheck },
): Promise<GalleryServer> {
  const decoder = createDecoder(config);
  try {
    const server = await startGalleryServer({
      library,
      previews: new PreviewRenderer(decoder, DECODED_MAX_SIDE),
      signer,
      log,
      port: gallery.port,
      host: gallery.host,
      ...(config.telegram && members.telegram ? { telegram: { token: config.telegram.token, members: members.telegram } } : {}),
      ...(members.discord ? { discord: { members: members.discord } } : {}),
    });
    log.info({ url: gallery.publicUrl, port: server.port }, 'the gallery is served');
    return {
      port: server.port,
      close: async () => {
        await server.close();
        await decoder.close();
      },
    };
  } catch (error) {
    await decoder.close();
    throw error;
  }
}
