// gql_differential.mjs — differential test of lib/graphql against graphql-js (the reference).
// For every golden case in tests/golden/graphql/<case>/ (except those with limits.json, which
// test our own limits), runs the same document, variables and operation name through graphql-js
// with the same schema (schema.graphql), root value (root.json) and resolvers (echo, fail,
// failNonNull, defineMetric — as in tests/unit/graphql/gql_golden.c) and compares with the
// case's expected.json, which the C golden test proves our engine produces: same accept/reject
// decision, same data, same error messages, locations and paths. extensions are ours alone.
// Usage: node gql_differential.mjs [GOLDEN_DIR]   (npm ci in this folder first)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// graphql-js comes from this folder's node_modules (scripts/deps.sh installs it). Missing, the
// test fails with that instruction: it never skips.
let graphqlJs;
try {
  graphqlJs = await import('graphql');
} catch (e) {
  console.error(`graphql-js is not installed in tests/differential (${e.code || e.message}): run ` +
    'scripts/deps.sh (or npm ci in tests/differential), then ctest again');
  process.exit(1);
}
const {
  buildSchema, parse, validate, execute, GraphQLError, buildClientSchema, printSchema,
  lexicographicSortSchema,
} = graphqlJs;

const here = path.dirname(fileURLToPath(import.meta.url));
const base = process.argv[2] ?? path.join(here, '..', 'golden', 'graphql');
const schema = buildSchema(fs.readFileSync(path.join(base, 'schema.graphql'), 'utf8'));
const rootData = JSON.parse(fs.readFileSync(path.join(base, 'root.json'), 'utf8'));
const rootValue = {
  ...rootData,
  echo: (args) => args,
  fail: () => { throw new Error('fail resolver always fails'); },
  failNonNull: () => { throw new Error('failNonNull resolver always fails'); },
  defineMetric: ({ input }) => input,
};

function reference(dir) {
  const query = fs.readFileSync(path.join(dir, 'query.graphql'), 'utf8');
  const opt = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : undefined);
  const vars = opt('variables.json');
  const op = opt('operation.txt');
  let doc;
  try {
    doc = parse(query);
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
    return { errors: [e.toJSON()] };
  }
  const errors = validate(schema, doc);
  if (errors.length > 0) return { errors: errors.map((e) => e.toJSON()) };
  const result = execute({
    schema, document: doc, rootValue,
    variableValues: vars ? JSON.parse(vars) : undefined,
    operationName: op ? op.trim() : undefined,
  });
  return JSON.parse(JSON.stringify(result));
}

const strip = (e) => JSON.stringify({ message: e.message, locations: e.locations, path: e.path });
let pass = 0, fail = 0;
for (const name of fs.readdirSync(base).sort()) {
  const dir = path.join(base, name);
  if (!fs.existsSync(path.join(dir, 'query.graphql')) || fs.existsSync(path.join(dir, 'limits.json'))) continue;
  const ours = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  const ref = reference(dir);
  const problems = [];
  if (name.startsWith('intro_full') || name.startsWith('intro_graphiql')) {
    // a full introspection result: it must rebuild into the same schema with buildClientSchema
    // (descriptions of built-ins and the order of types are free to differ)
    try {
      const rebuilt = printSchema(lexicographicSortSchema(buildClientSchema(ours.data)));
      const want = printSchema(lexicographicSortSchema(buildClientSchema(ref.data)));
      if (rebuilt !== want) problems.push(`rebuilt schema differs:\n${rebuilt}\n---- want\n${want}`);
    } catch (e) {
      problems.push(`buildClientSchema failed: ${e.message}`);
    }
    if (ours.errors) problems.push(`errors: ${JSON.stringify(ours.errors)}`);
    if (problems.length === 0) pass++;
    else { fail++; console.log(`FAIL ${name}\n  ${problems.join('\n  ')}`); }
    continue;
  }
  if (('data' in ours) !== ('data' in ref)) problems.push(`decision: ours ${'data' in ours ? 'executes' : 'rejects'}, graphql-js ${'data' in ref ? 'executes' : 'rejects'}`);
  if ('data' in ours && 'data' in ref && JSON.stringify(ours.data) !== JSON.stringify(ref.data)) problems.push(`data: ours ${JSON.stringify(ours.data)}\n       ref  ${JSON.stringify(ref.data)}`);
  const oe = (ours.errors ?? []).map(strip), re = (ref.errors ?? []).map(strip);
  const os = [...oe].sort(), rs = [...re].sort();
  if (JSON.stringify(os) !== JSON.stringify(rs)) {
    problems.push('errors differ:\n' + oe.map((e) => '  ours ' + e).join('\n') + '\n' + re.map((e) => '  ref  ' + e).join('\n'));
  }
  if (problems.length === 0) pass++;
  else { fail++; console.log(`FAIL ${name}\n  ${problems.join('\n  ')}`); }
}
console.log(`graphql differential: ${pass} passed, ${fail} failed`);
process.exit(fail === 0 && pass > 0 ? 0 : 1);
