/**
 * The house rules as code (`npm run lint` runs them): dependencies point inward, the wiring lives
 * in one room, and no module imports itself back through a loop. docs/development.md ("The house")
 * has the map in words.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import loop: two modules that need each other are one module, or a third owns what they share.',
      from: { path: '^(src|scripts|bin)/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment:
        "core/ is the pure domain: it imports nothing outside itself but node:crypto (content hashes) and unhomoglyph (Unicode's confusables table: data, no I/O).",
      from: { path: '^src/core/' },
      to: { pathNot: ['^src/core/', '^crypto$', 'node_modules/unhomoglyph/'] },
    },
    {
      name: 'only-entry-points-import-the-wiring',
      severity: 'error',
      comment: 'app/ constructs things and passes them in through constructors; no feature room reaches back into it.',
      from: { path: '^src/', pathNot: ['^src/app/', '^src/cli/'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment: 'The command line is the outermost layer.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'bot-layer-is-platform-neutral',
      severity: 'error',
      comment: 'bot/ sees the ChatContext port, never telegraf, discord.js or an adapter.',
      from: { path: '^src/bot/' },
      to: { path: ['^src/adapters/', 'node_modules/(telegraf|discord\\.js|@discordjs)/'] },
    },
    {
      name: 'platforms-stay-apart',
      severity: 'error',
      comment: 'A platform adapter does not import another platform: what they share lives in adapters/shared.',
      from: { path: '^src/adapters/(telegram|discord)/' },
      to: { path: '^src/adapters/(telegram|discord)/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'platform-libraries-only-in-their-adapter',
      severity: 'error',
      comment: "telegraf is the Telegram adapter's, discord.js the Discord adapter's.",
      from: { path: '^src/', pathNot: ['^src/adapters/telegram/', '^src/adapters/discord/', '^src/importers/'] },
      to: { path: 'node_modules/(telegraf|discord\\.js|@discordjs)/' },
    },
    {
      name: 'the-product-does-not-import-tests',
      severity: 'error',
      comment: "Only benchmarks (scripts/) may share the tests' fakes and data-set helpers.",
      from: { path: '^(src|bin)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
