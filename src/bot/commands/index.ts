import type { BotCommand } from '../command.ts';
import { album } from './album.ts';
import { audit } from './audit.ts';
import { enroll } from './enroll.ts';
import { forget } from './forget.ts';
import { gallery } from './gallery.ts';
import { help } from './help.ts';
import { name } from './name.ts';
import { notThis } from './notthis.ts';
import { people } from './people.ts';
import { settings } from './settings.ts';
import { stats } from './stats.ts';
import { threshold } from './threshold.ts';
import { unknown } from './unknown.ts';

/** Every command, in the order the platforms' menus list them. */
export const COMMANDS: readonly BotCommand[] = [enroll, album, gallery, people, unknown, name, notThis, stats, threshold, settings, forget, audit, help];
