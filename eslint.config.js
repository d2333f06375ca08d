import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['scripts-examples/**/*.js'],
    languageOptions: {
      // Example scripts are function bodies run in the sandbox with these globals.
      parserOptions: { ecmaFeatures: { globalReturn: true } },
      globals: { user: 'readonly', obj: 'readonly', row: 'readonly', params: 'readonly', console: 'readonly', skip: 'readonly' },
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
