// Fails when src/api/schema.ts is not what openapi-typescript makes of the server's OpenAPI
// snapshot, so a server API change cannot slip past the typed client unnoticed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const snapshot = '../crates/server/tests/snapshots/openapi.json';
const committed = 'src/api/schema.ts';
const dir = mkdtempSync(join(tmpdir(), 'cinegen-api-'));
const fresh = join(dir, 'schema.ts');
try {
  execFileSync('npx', ['openapi-typescript', snapshot, '-o', fresh], { stdio: 'pipe' });
  if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
    console.error(`${committed} is out of date with ${snapshot}: run \`npm run gen:api\` and commit it.`);
    process.exit(1);
  }
  console.log(`${committed} matches ${snapshot}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
