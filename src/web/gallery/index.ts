/** The group gallery: a web server over the library's read model, opened from Telegram or Discord. */
export {
  startGalleryServer,
  discordGalleryLink,
  SESSION_SECONDS,
  type GalleryServer,
  type GalleryOptions,
  type GalleryLibrary,
  type MemberCheck,
} from './server.ts';
export { PreviewRenderer } from './previews.ts';
export { Signer, checkLaunchData, type LaunchCheck, type LaunchUser } from './signing.ts';
