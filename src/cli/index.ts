/** The `facefile` command: `main(argv)` parses and runs a subcommand and returns the exit code. */
export { main } from './main.ts';
