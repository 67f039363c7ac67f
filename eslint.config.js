// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import tsdoc from 'eslint-plugin-tsdoc';

/**
 * One-way dependencies between packages (DESIGN.md, "Parts and the direction of
 * dependencies"). Each entry lists the workspace packages a package must NOT import.
 */
const forbidden = {
  saltpack: ['identity', 'protocol', 'keystore', 'client', 'server', 'provider', 'cli', 'web'],
  identity: ['protocol', 'keystore', 'client', 'server', 'provider', 'cli', 'web'],
  protocol: ['keystore', 'client', 'server', 'provider', 'cli', 'web'],
  keystore: ['protocol', 'client', 'server', 'provider', 'cli', 'web'],
  client: ['server', 'provider', 'cli', 'web'],
  // The server serves the web app's built files; it never imports its code.
  server: ['keystore', 'client', 'provider', 'cli', 'web'],
  provider: ['server', 'cli', 'web'],
  cli: ['web'],
  // The browser app: saltpack, identity, protocol, keystore (in a Worker) and client.
  web: ['server', 'provider', 'cli'],
};

const layering = Object.entries(forbidden).map(([pkg, banned]) => ({
  files: [`packages/${pkg}/src/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...banned.map((b) => ({
            group: [`@saltbox/${b}`, `@saltbox/${b}/*`],
            message: `${pkg} must not depend on ${b} (DESIGN.md: one-way dependencies)`,
          })),
          {
            group: ['../../*/src/*', '../../../*/src/*'],
            message: 'import other packages by name',
          },
        ],
      },
    ],
  },
}));

/** Pure format packages: no Node built-ins outside the crypto backend / worker files. */
const pure = {
  files: ['packages/saltpack/src/**/*.ts', 'packages/identity/src/**/*.ts'],
  ignores: ['packages/saltpack/src/backend/native*.ts', 'packages/saltpack/src/node/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: ['node:*'],
            message: 'pure format code: no Node built-ins (use the crypto backend)',
          },
          {
            group: [
              '@saltbox/protocol',
              '@saltbox/keystore',
              '@saltbox/client',
              '@saltbox/server',
              '@saltbox/provider',
              '@saltbox/cli',
            ],
            message: 'one-way dependencies',
          },
        ],
      },
    ],
  },
};

/**
 * The browser app: no Node built-ins, and only the browser entry points of the packages it
 * uses (`@saltbox/client` without `/browser` pulls in the Node file stores).
 */
const browser = {
  files: ['packages/web/src/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [
          {
            name: '@saltbox/client',
            message: 'the browser app imports @saltbox/client/browser (no Node file stores)',
          },
        ],
        patterns: [
          { group: ['node:*'], message: 'browser code: no Node built-ins' },
          {
            group: ['@saltbox/*/node', '@saltbox/server', '@saltbox/provider', '@saltbox/cli'],
            message: 'browser code: no Node entry points; one-way dependencies (DESIGN.md)',
          },
          { group: ['../../*/src/*'], message: 'import other packages by name' },
        ],
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      '.bench/**',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { tsdoc },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'tsdoc/syntax': 'warn',
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/prefer-nullish-coalescing': 'off',
    },
  },
  ...layering,
  pure,
  browser,
  {
    files: ['packages/*/test/**/*.ts', 'packages/*/scripts/**/*.ts', 'packages/*/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      'no-restricted-imports': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  // The CLI's committed bin shims: plain JavaScript run by Node (no type information).
  {
    files: ['packages/cli/bin/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', URL: 'readonly' },
    },
  },
);
