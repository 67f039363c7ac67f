// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import tsdoc from 'eslint-plugin-tsdoc';

/**
 * One-way dependencies between packages (DESIGN.md, "Parts and the direction of
 * dependencies"). Each entry lists the workspace packages a package must NOT import.
 */
const forbidden = {
  saltpack: ['identity', 'protocol', 'keystore', 'client', 'server', 'provider', 'cli'],
  identity: ['protocol', 'keystore', 'client', 'server', 'provider', 'cli'],
  protocol: ['keystore', 'client', 'server', 'provider', 'cli'],
  keystore: ['protocol', 'client', 'server', 'provider', 'cli'],
  client: ['server', 'provider', 'cli'],
  server: ['keystore', 'client', 'provider', 'cli'],
  provider: ['server', 'cli'],
  cli: [],
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
);
