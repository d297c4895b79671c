// ESLint flat config: typescript-eslint's recommended rules on every TypeScript folder, and the
// ownership table of ARCHITECTURE.md as import restrictions, so a wrong-way import fails `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_NETWORK = {
  regex: '^((node:)?(http|https|net|tls|dgram|http2)|.*/lib/hub(/.*)?)$',
  message:
    'The language server never touches the network: it reads the Hugging Face cache (config/hub-ref.ts); downloads run in the host or the CLI (lib/hub).',
};
const NO_VSCODE = {
  name: 'vscode',
  message: 'Only the host (extension/) and the language client (language-server/src/client.ts) use the VS Code API.',
};
const LANGUAGE_SERVER_ONLY = {
  regex: '(^|/)(extension|webview|native|test)/',
  message:
    'language-server imports nothing of ours outside language-server (the host, webviews and trainer import it, not the other way round).',
};
const PURE = {
  regex: '^((node:)?(fs|fs/promises|child_process|worker_threads)|.*/lib/(data|data-facts|calibration-file|run-folder/reader)(/.*)?)$',
  message:
    'The config library and the estimator are pure (no file system): callers pass the files in (config/node-fs.ts is the one Node adapter).',
};
const NO_TRAINER_INTERNALS = {
  regex: '(^|/)native/(?!trainer/(chat-)?protocol$)',
  message:
    'Never the native addon (native/trainer/addon.ts) or other trainer internals: only the host <-> trainer protocol, native/trainer/protocol.ts.',
};
const PROTOCOL_TYPES_ONLY = {
  regex: '(^|/)native/trainer/protocol$',
  allowTypeImports: true,
  message: "The webview may use the trainer protocol's types only (import type).",
};

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'out/**', '.test-out/**', 'examples/**', 'media/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Who may import whom (ARCHITECTURE.md). One block per folder: a later block for the same file would
  // replace an earlier one's list, not add to it.
  {
    files: ['language-server/src/**/*.ts'],
    ignores: [
      'language-server/src/estimator/**',
      'language-server/src/config/**',
      'language-server/src/client.ts',
      'language-server/src/service/**',
      'language-server/src/server.ts',
    ],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [NO_VSCODE], patterns: [LANGUAGE_SERVER_ONLY] }] },
  },
  {
    files: ['language-server/src/service/**/*.ts', 'language-server/src/server.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [NO_VSCODE], patterns: [LANGUAGE_SERVER_ONLY, NO_NETWORK] }] },
  },
  {
    files: ['language-server/src/estimator/**/*.ts', 'language-server/src/config/**/*.ts'],
    ignores: ['language-server/src/config/node-fs.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [NO_VSCODE], patterns: [LANGUAGE_SERVER_ONLY, PURE] }] },
  },
  {
    files: ['language-server/src/client.ts', 'language-server/src/config/node-fs.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [LANGUAGE_SERVER_ONLY] }] },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [NO_VSCODE],
          patterns: [
            {
              regex: '(^|/)extension/',
              message: 'The webview runs in the browser sandbox and talks to the host only by the messages of webview/src/protocol.ts.',
            },
            NO_TRAINER_INTERNALS,
            PROTOCOL_TYPES_ONLY,
            {
              regex:
                '(^|/)language-server/src/(lib/(data|data-facts|calibration-file|run-folder/reader|compare/(read-run|predict))|config/node-fs|service|server|client)(/|$)',
              message:
                'The webview may import the pure parts of language-server (lib/format, lib/eta, config, estimator), nothing that reads files.',
            },
            { regex: '^node:', message: 'The webview runs in the browser: no Node modules.' },
          ],
        },
      ],
    },
  },
  {
    files: ['extension/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_TRAINER_INTERNALS,
            {
              regex: '(^|/)webview/src/(?!((chat|compare)/)?protocol$)',
              message:
                'The host may import the webview protocol (webview/src/protocol.ts), not the webview UI; shared logic goes to language-server/src/lib.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['native/trainer/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(extension|webview)/',
              message:
                'The trainer is a child process of the host: it imports language-server, never extension/ or webview/ (the protocol it shares is native/trainer/protocol.ts).',
            },
          ],
        },
      ],
    },
  },
);
