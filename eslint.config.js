import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import qalqan from './lint/no-import-cycle.js';

export default tseslint.config({ ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  plugins: { qalqan },
  languageOptions: {
    globals: {
      process: 'readonly',
      console: 'readonly',
      Buffer: 'readonly',
      URL: 'readonly',
      setTimeout: 'readonly',
      clearTimeout: 'readonly',
      setInterval: 'readonly',
      clearInterval: 'readonly',
      AbortController: 'readonly',
      TextEncoder: 'readonly',
      TextDecoder: 'readonly',
    },
  },
  rules: {
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    'qalqan/no-import-cycle': 'error',
  },
});
