import type { Syntax } from '../../src/bot/index.ts';

/** A platform's command syntax as plain text (`/name arg`), for tests of the bot layer. */
export const PLAIN_SYNTAX: Syntax = {
  command: (name, args = {}) => [`/${name}`, ...Object.values(args)].join(' '),
  withPhoto: '',
  onPostedPhoto: '',
  enrollMe: '',
  notThis: '',
  seeing: '',
  tooLarge: () => '',
};
