// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'spike/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.cjs', 'bin/*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // With noUncheckedIndexedAccess every in-range index in the numeric loops (pixels, vectors)
      // reads as possibly undefined; `!` there states what the loop bound proves.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `return this.reply(...)` as an early exit from a handler reads better than two lines.
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    // node:test's describe/it return promises that the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
    },
  },
  {
    // The bin shim and config files are plain JavaScript: type-aware rules do not apply.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', module: 'readonly' } },
  },
  {
    // The page's own script runs in the browser, as plain JavaScript without a build step.
    files: ['src/web/public/**/*.js', 'src/web/gallery/public/**/*.js', 'src/web/shared/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'fetch',
          'URLSearchParams',
          'EventSource',
          'setTimeout',
          'clearTimeout',
          'Node',
          'HTMLElement',
          'HTMLInputElement',
          'HTMLButtonElement',
          'HTMLDialogElement',
          'HTMLImageElement',
          'HTMLProgressElement',
          'sessionStorage',
          'setInterval',
          'addEventListener',
          'IntersectionObserver',
          'URL',
          'Option',
          'atob',
          'Blob',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
