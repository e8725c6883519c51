// Table tests of the refusal rules, the identity types and the rename
// detector, each on a before/after template pair.
// Run: node --test tools/review/ (make test runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusals, renames, isIdentity, RULES } from './rules.mjs';

const table = ({ key = 'id', gsis = [], attrs = {}, name, policy = 'Retain' } = {}) => ({
  Type: 'AWS::DynamoDB::Table', DeletionPolicy: policy, UpdateReplacePolicy: policy,
  Properties: {
    ...(name ? { TableName: name } : {}),
    KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    AttributeDefinitions: Object.entries({ [key]: 'S', ...attrs }).map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    GlobalSecondaryIndexes: gsis.length ? gsis.map(([IndexName, k, projection = 'ALL']) => ({
      IndexName, KeySchema: [{ AttributeName: k, KeyType: 'HASH' }], Projection: { ProjectionType: projection } })) : undefined,
    BillingMode: 'PAY_PER_REQUEST',
  },
});
const pool = (props = {}) => ({ Type: 'AWS::Cognito::UserPool', Properties: { UsernameAttributes: ['email'], Schema: [{ Name: 'email', Required: true, Mutable: true }], ...props } });
const stack = (resources) => ({ Resources: resources });

const cases = [
  { name: 'one index added: fine', rule: 'one-gsi-per-update', before: stack({ T: table() }), after: stack({ T: table({ gsis: [['a', 'x']], attrs: { x: 'S' } }) }), refused: 0 },
  { name: 'two indexes added', rule: 'one-gsi-per-update', before: stack({ T: table() }),
    after: stack({ T: table({ gsis: [['a', 'x'], ['b', 'y']], attrs: { x: 'S', y: 'S' } }) }), refused: 1 },
  { name: 'one added, one deleted', rule: 'one-gsi-per-update', before: stack({ T: table({ gsis: [['a', 'x']], attrs: { x: 'S' } }) }),
    after: stack({ T: table({ gsis: [['b', 'y']], attrs: { y: 'S' } }) }), refused: 1 },
  { name: "an index's key changes: deleted and created", rule: 'one-gsi-per-update', before: stack({ T: table({ gsis: [['a', 'x']], attrs: { x: 'S', y: 'S' } }) }),
    after: stack({ T: table({ gsis: [['a', 'y']], attrs: { x: 'S', y: 'S' } }) }), refused: 1 },
  { name: 'the table is replaced: its indexes come with it', rule: 'one-gsi-per-update', before: stack({ T: table() }),
    after: stack({ T: table({ key: 'sku', gsis: [['a', 'x'], ['b', 'y']], attrs: { x: 'S', y: 'S' } }) }), refused: 0 },
  { name: "an index key's type changes", rule: 'key-attribute-type', before: stack({ T: table({ gsis: [['a', 'x']], attrs: { x: 'S' } }) }),
    after: stack({ T: table({ gsis: [['a', 'x']], attrs: { x: 'N' } }) }), refused: 1 },
  { name: 'username attributes change', rule: 'cognito-sign-in-attributes', before: stack({ P: pool() }),
    after: stack({ P: pool({ UsernameAttributes: undefined, AliasAttributes: ['email'] }) }), refused: 2 },
  { name: 'a schema attribute is added: fine', rule: 'cognito-schema', before: stack({ P: pool() }),
    after: stack({ P: pool({ Schema: [{ Name: 'email', Required: true, Mutable: true }, { Name: 'tier', AttributeDataType: 'String' }] }) }), refused: 0 },
  { name: 'a schema attribute is removed', rule: 'cognito-schema', before: stack({ P: pool() }), after: stack({ P: pool({ Schema: [] }) }), refused: 1 },
  { name: 'a schema attribute changes', rule: 'cognito-schema', before: stack({ P: pool() }),
    after: stack({ P: pool({ Schema: [{ Name: 'email', Required: true, Mutable: false }] }) }), refused: 1 },
  { name: 'a custom-named table is replaced', rule: 'custom-name-replacement', before: stack({ T: table({ name: 'orders' }) }),
    after: stack({ T: table({ name: 'orders', key: 'sku' }) }), changes: { replaced: ['T'] }, refused: 1 },
  { name: 'a custom-named table is replaced under a new name: fine', rule: 'custom-name-replacement', before: stack({ T: table({ name: 'orders' }) }),
    after: stack({ T: table({ name: 'orders-v2', key: 'sku' }) }), changes: { replaced: ['T'] }, refused: 0 },
  { name: 'a bucket removed with nothing to empty it', rule: 'non-empty-bucket', before: stack({ B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Delete' } }),
    after: stack({}), refused: 1 },
  { name: 'a bucket removed with autoDeleteObjects: fine', rule: 'non-empty-bucket',
    before: stack({ B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Delete' }, E: { Type: 'Custom::S3AutoDeleteObjects', Properties: { BucketName: { Ref: 'B' } } } }),
    after: stack({}), refused: 0 },
  { name: "a logical id's type changes", rule: 'resource-type-change', before: stack({ Api: { Type: 'AWS::ApiGatewayV2::Api' } }),
    after: stack({ Api: { Type: 'AWS::ApiGateway::RestApi' } }), refused: 1 },
  { name: 'a new id for the new type: fine', rule: 'resource-type-change', before: stack({ Api: { Type: 'AWS::ApiGatewayV2::Api' } }),
    after: stack({ RestApi: { Type: 'AWS::ApiGateway::RestApi' } }), refused: 0 },
  { name: 'a retained bucket removed: fine', rule: 'non-empty-bucket', before: stack({ B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' } }), after: stack({}), refused: 0 },
];

for (const c of cases) {
  test(`refusal rule ${c.rule}: ${c.name}`, () => {
    const got = refusals(c.before, c.after, c.changes).filter((r) => r.rule === c.rule);
    assert.equal(got.length, c.refused, JSON.stringify(got));
    for (const r of got) assert.ok(r.source.length > 20, 'every rule names its source');
  });
}

test('every rule has a source and a case', () => {
  for (const rule of RULES) {
    assert.ok(rule.source, rule.id);
    assert.ok(cases.some((c) => c.rule === rule.id && c.refused > 0), `${rule.id} has no failing case`);
  }
});

test('identity and state beyond data', () => {
  const t = stack({
    Topic: { Type: 'AWS::SNS::Topic' }, Quiet: { Type: 'AWS::SNS::Topic' },
    Sub: { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'Topic' }, Protocol: 'email', Endpoint: 'ops@example.com' } },
  });
  for (const type of ['AWS::Cognito::UserPoolClient', 'AWS::Cognito::UserPoolGroup', 'AWS::Cognito::UserPoolDomain', 'AWS::ElastiCache::User',
    'AWS::ElastiCache::UserGroup', 'AWS::KMS::Key', 'AWS::Events::EventBus']) {
    assert.ok(isIdentity('X', { Type: type }, t), type);
  }
  assert.ok(isIdentity('Topic', t.Resources.Topic, t), 'a topic with a subscriber');
  assert.ok(!isIdentity('Quiet', t.Resources.Quiet, t), 'a topic without one');
  assert.ok(!isIdentity('F', { Type: 'AWS::Lambda::Function' }, t));
});

test('renames: same type and properties under a new logical id', () => {
  const kept = () => true;
  const orphaned = renames(stack({ OrdersTable1: table() }), stack({ OrdersTableRenamed2: table() }), kept);
  assert.deepEqual(orphaned, [{ from: 'OrdersTable1', to: 'OrdersTableRenamed2', type: 'AWS::DynamoDB::Table', kept: true }]);
  const destroyed = renames(stack({ A: table({ policy: 'Delete' }) }), stack({ B: table({ policy: 'Delete' }) }), kept);
  assert.equal(destroyed[0].kept, false);
  assert.deepEqual(renames(stack({ A: table() }), stack({ B: table({ key: 'sku' }) }), kept), [], 'other properties: not a rename');
  assert.deepEqual(renames(stack({ A: table() }), stack({ A: table(), B: table() }), kept), [], 'nothing left');
});
