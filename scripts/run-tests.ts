// Runs the test suites with node's own test runner. Fails when no test file is found, so a
// broken glob can never turn into a green run that tested nothing.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const which = process.argv[2] ?? 'all';
const patterns: Record<string, string[]> = {
  unit: ['src/**/*.test.ts', 'bench/**/*.test.ts', 'scripts/**/*.test.ts'],
  e2e: ['test/**/*.test.ts'],
};
const chosen = which === 'all' ? [...(patterns.unit ?? []), ...(patterns.e2e ?? [])] : patterns[which];
if (!chosen) {
  console.error(`run-tests: unknown suite "${which}" (expected unit, e2e or all)`);
  process.exit(2);
}
const files = chosen.flatMap((p) => globSync(p, { exclude: (f) => f.includes('node_modules') })).sort();
if (files.length === 0) {
  console.error(`run-tests: no test files matched ${chosen.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
