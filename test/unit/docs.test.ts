import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SETTING_NAMES } from '../../src/config.ts';
import { ROOT } from '../helpers/datasets.ts';

/**
 * The documentation shows only commands, options and settings that exist: every `facefile <command>`
 * with its options, every `npm run <script>` and bench part, in the README and the three guides;
 * and the user guide's settings table, .env.example and the config schema name the same settings.
 */
const DOCS = ['README.md', 'docs/user-guide.md', 'docs/operators-guide.md', 'docs/development.md', 'deploy/README.md'];

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The text inside code blocks and inline code spans: where a reader copies commands from. */
function codeOf(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  // A shell comment is prose: "# the facefile system user" is no command.
  return [...blocks.flatMap((b) => b.split('\n')), ...spans].map((line) => line.replace(/(^|\s)#.*$/, ''));
}

// Each call starts the CLI (about a second, more on a busy machine): the docs name some commands
// dozens of times, so each help text is read once.
const helps = new Map<string, string>();
function helpOf(args: readonly string[]): string {
  const key = args.join(' ');
  let help = helps.get(key);
  if (help === undefined) {
    help = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), ...args, '--help'], { encoding: 'utf8', cwd: ROOT });
    helps.set(key, help);
  }
  return help;
}

describe('the documentation', () => {
  const commands = new Map<string, { file: string; line: string }[]>();
  const scripts = new Set<string>();
  const benchParts = new Set<string>();
  for (const file of DOCS) {
    for (const line of codeOf(read(file))) {
      // `facefile` where a command starts (a line, a span, after && or ;), or the bin by its path.
      for (const m of line.matchAll(/(?:(?:^|&&|;|\|)\s*(?:npx\s+)?facefile|bin\/facefile\.js) ([a-z][a-z-]*)/g)) {
        const list = commands.get(m[1]!) ?? [];
        list.push({ file, line: line.trim() });
        commands.set(m[1]!, list);
      }
      for (const m of line.matchAll(/npm run ([a-z][a-z:-]*)(?: -- ([a-z][a-z0-9-]*))?/g)) {
        scripts.add(m[1]!);
        if (m[1] === 'bench' && m[2]) benchParts.add(m[2]);
      }
    }
  }

  it('GIVEN every `facefile <command> [options]` shown THEN the command exists and takes each option shown', () => {
    const top = helpOf([]);
    const known = new Set([...top.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!));
    assert.ok(known.has('archive') && known.has('bot'), top);
    assert.ok(commands.size >= 6, `only ${[...commands.keys()].join(', ')} found in the docs`);
    for (const [command, uses] of commands) {
      assert.ok(known.has(command), `\`facefile ${command}\` (${uses[0]!.file}: ${uses[0]!.line}) is not a command: ${[...known].join(', ')}`);
      const help = helpOf([command]);
      // A command with commands of its own (`facefile import telegram`): the options are the subcommand's.
      const subcommands = new Set([...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((name) => name !== 'help'));
      for (const { file, line } of uses) {
        const after = line.slice(line.indexOf(`facefile${line.includes('bin/facefile.js') ? '.js' : ''} ${command}`));
        const sub = after.split(/\s+/)[2];
        const named = sub !== undefined && subcommands.has(sub) ? `${command} ${sub}` : command;
        const options = named === command ? help : helpOf(named.split(' '));
        for (const option of after.matchAll(/(?:^|\s|\[)(--?[a-z][a-z-]*)/g)) {
          if (option[1] === '--help' || option[1] === '-h') continue;
          assert.ok(new RegExp(`(^|[\\s,])${option[1]}([\\s,]|$)`, 'm').test(options), `${file}: \`${line}\`: facefile ${named} has no ${option[1]}`);
        }
      }
    }
  });

  it('GIVEN every `npm run <script>` and bench part shown THEN package.json has the script and the bench the part', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const script of scripts) assert.ok(script in pkg.scripts, `npm run ${script} is not a script`);
    const bench = read('scripts/bench.ts');
    for (const part of benchParts) assert.match(bench, new RegExp(`(^\\s+${part}: |name: '${part}')`, 'm'), `npm run bench -- ${part} is not a bench`);
  });

  it('GIVEN the settings table of the user guide THEN it, .env.example and the config schema name the same settings', () => {
    const guide = read('docs/user-guide.md');
    const table = new Set([...guide.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
    const example = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    const schema = new Set(SETTING_NAMES);
    assert.deepEqual([...table].sort(), [...schema].sort(), 'the user guide settings table against the config schema');
    assert.deepEqual([...example].sort(), [...schema].sort(), '.env.example against the config schema');
  });
});
