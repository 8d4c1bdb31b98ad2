// Prints the schema built from the code into schema.graphql; with --check, fails on drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = `${printSchema(schema)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is drift too.
  }
  if (current !== printed) {
    process.stderr.write('schema.graphql does not match the code: run npm run schema:print\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, printed);
}
