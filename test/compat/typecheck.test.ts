/**
 * The compatibility suite type-checks with the settings of typical user
 * projects: strict ES modules, and strict CommonJS (a `"type": "commonjs"`
 * folder importing the package and ES module code). A Restate port that
 * compiles only with looser settings would not count.
 */
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

function diagnostics(project: string): string[] {
  const configFile = resolve(project);
  const read = ts.readConfigFile(configFile, (path) => ts.sys.readFile(path));
  if (read.error) return [ts.flattenDiagnosticMessageText(read.error.messageText, '\n')];
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configFile));
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('the compatibility suite type-checks as user code', () => {
  it('in a strict ES module project', () => {
    expect(diagnostics('test/compat/tsconfig.json')).toEqual([]);
  }, 120_000);

  it('in a strict CommonJS project', () => {
    expect(diagnostics('test/compat/cjs/tsconfig.json')).toEqual([]);
  }, 120_000);
});
