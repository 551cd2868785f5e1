import { defineConfig } from 'vitest/config';

// The AWS SDK warns once per process that Node 20 support ends in 2027;
// in every test worker that is noise. (Workers inherit this environment.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// The repository's own tests import `dormant-lambda` by name; the
// `dormant-source` export condition points those imports at src/ rather than
// at the build in dist/ (test/consumer/ tests the build, in a project of its
// own). Vitest passes these to its workers as --conditions too. (Vitest's
// default minus `module`, which would pick the AWS SDK's dist-es.)
const conditions = ['dormant-source', 'node', 'development|production'];

export default defineConfig({
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    // Starts DynamoDB Local once for the whole run; tests read its endpoint
    // with inject('dynamoDbEndpoint').
    globalSetup: ['test/support/global-setup.ts'],
    // Child processes: each test file is isolated and a crashed worker cannot
    // take the runner with it. Two workers suit a 2-core CI machine, where one
    // core also serves DynamoDB Local.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
