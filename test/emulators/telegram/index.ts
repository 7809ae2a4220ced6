/**
 * A local Telegram Bot API server for end-to-end tests with the real telegraf:
 *
 *   const emulator = await BotApiEmulator.start();
 *   const anna = emulator.user(111, 'Anna');
 *   emulator.addChat({ id: -1001, type: 'supergroup', title: 'Family' }, { creator: anna });
 *   const bot = new Telegraf(emulator.token, { telegram: { apiRoot: emulator.apiRoot } });
 *   const polling = bot.launch(); // resolves only once stopped
 *   await emulator.postPhoto(-1001, anna, jpegBytes, { caption: '/enroll Anna' });
 *   const reply = await emulator.waitFor((sent) => sent.method === 'sendMessage');
 *   bot.stop(); await polling; await emulator.close();
 */
export {
  BotApiEmulator,
  GROUP_ANONYMOUS_BOT,
  type ApiCall,
  type BotApiEmulatorOptions,
  type ChatAdmins,
  type ChatSpec,
  type DocumentOptions,
  type EmulatedChatType,
  type InjectedError,
  type PhotoOptions,
  type RateLimit,
  type Sender,
  type SentMessage,
  type TextOptions,
} from './bot-api-server.ts';
export type { ApiErrorPayload, UploadedFile } from './protocol.ts';
export type { WebhookDelivery } from './webhook-delivery.ts';
export { REACTION_EMOJI } from './reactions.ts';
