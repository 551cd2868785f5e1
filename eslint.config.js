// ESLint flat config: typescript-eslint's recommended rules plus a few
// type-aware ones that catch real bugs in replay code (a forgotten `await` is
// a lost journal write), without the noise of the strict presets. Tests are
// linted like everything else.
import js from '@eslint/js'; // ships with eslint, pinned by its version
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Imports point down (docs/architecture.md, "Layers"): api ← engine ←
// runtime ← lambda/local/cdk, the store below the engine, and nothing in src/
// reaches out of the library. Patterns match the import as written: a
// relative path whose first folder after the `../`s (and an optional `src/`)
// is the one named.
const folder = (names) => `^(\\.{1,2}/)+(src/)?(${names.join('|')})(/|$)`;
const OUT_OF_SRC = [
  {
    regex: folder(['lambda', 'cdk', 'test', 'bench', 'examples']),
    message:
      'src/ is the library: it may not import lambda/, cdk/, test/, bench/ or examples/ (they import src/; a role core belongs in src/runtime).',
  },
  {
    regex: '^dormant-lambda(/|$)',
    message: 'src/ is the package itself: import the module by its relative path, not by the package name.',
  },
];
const below = (layer, names, why) => ({ regex: folder(names), message: `src/${layer} may not import src/${names.join(', src/')}: ${why}` });
const LAYERS = [
  { files: ['src/**/*.ts'], forbid: [] },
  {
    files: ['src/api/**/*.ts'],
    forbid: [
      below(
        'api',
        ['engine', 'runtime', 'store', 'local', 'testing'],
        'the programming model is the top of the stack and depends on nothing of Dormant.',
      ),
    ],
  },
  {
    files: ['src/engine/**/*.ts'],
    forbid: [
      below(
        'engine',
        ['runtime', 'local', 'testing'],
        'the engine runs one attempt below the roles; move what it needs into src/store or src/engine.',
      ),
    ],
  },
  {
    files: ['src/store/**/*.ts'],
    forbid: [
      below(
        'store',
        ['engine', 'runtime', 'local', 'testing'],
        'the store is below the engine and the roles; it may use src/api types only.',
      ),
    ],
  },
  {
    files: ['src/runtime/**/*.ts'],
    forbid: [
      below(
        'runtime',
        ['local', 'testing'],
        'the roles run on AWS; the local plane and the testing kit are built on them, not the other way round.',
      ),
    ],
  },
  {
    files: ['src/testing/**/*.ts'],
    forbid: [below('testing', ['local'], 'the testing kit runs in memory: no emulators, no ports.')],
  },
];

// The CDK app, the benchmarks and the tests use the role cores of src/runtime;
// lambda/ only wires them to the environment (its own test imports it).
const ENTRY_FILES = {
  files: ['cdk/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
  ignores: ['test/unit/lambda-entries.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: folder(['lambda']),
            message:
              'lambda/ holds entry files only: import the role core from src/runtime (ingress.ts, wake-handler.ts, timer.ts, dispatch.ts).',
          },
        ],
      },
    ],
  },
};

/**
 * One config per folder, each with its whole list: for a rule, the last
 * matching config's options win, so a folder repeats what holds for all of src/.
 */
const layers = LAYERS.map(({ files, forbid }) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [...OUT_OF_SRC, ...forbid] }] },
}));

export default defineConfig(
  globalIgnores(['**/node_modules/', '**/cdk.out/', '**/dist/', '**/.dormant/', 'coverage/', 'test-results/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // Promises: the reason this config is type-aware.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return promise` inside try/catch/finally skips the catch and finally.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // Type-level `any` is how generic handler and PromiseLike signatures
      // express variance (as lib.d.ts does); banning it only adds disables.
      '@typescript-eslint/no-explicit-any': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  ...layers,
  ENTRY_FILES,
  {
    // Plain JavaScript (this file, scripts) is not part of tsconfig: lint it
    // without type information.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    // The starter has its own tsconfig (for the project `init` makes), which
    // resolves `dormant-lambda` to the built dist/; here it is type-checked
    // against src/ by the root tsconfig, as `npm run typecheck` does, so the
    // lint sees the same types on a clean clone as after a build.
    files: ['starter/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
);
