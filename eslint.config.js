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
      globals: {
        user: 'readonly',
        obj: 'readonly',
        row: 'readonly',
        params: 'readonly',
        console: 'readonly',
        skip: 'readonly',
      },
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
  },
  {
    // Code evaluated inside the isolate: ECMAScript only, and imports of the build's own files.
    files: [
      'src/sandbox/prelude/**/*.ts',
      'src/model/value-rules.ts',
      'src/sandbox/wire-format.ts',
      'src/sandbox/failure-messages.ts',
    ],
    rules: {
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'require',
          'module',
          'Buffer',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'queueMicrotask',
          'console',
          'fetch',
        ].map((name) => ({ name, message: 'the isolate has no such global' })),
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '^[^.]', message: 'the isolate can import only relative files of the build' }],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
