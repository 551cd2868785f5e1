/**
 * The SQS emulator for tests. It runs in the test's own process and starts in
 * milliseconds, so each test file starts its own rather than sharing one.
 */
export { startSqsLocal, type SqsLocal, type SqsLocalOptions } from '../../src/local/sqs-local.ts';
