// Tests of make review on a scratch git repository whose "synth" copies the
// templates it holds: commits that add a wildcard IAM grant, replace a table
// (a key change) and change one function's code each land in their section.
// Run: node --test tools/review/ (make unit and make test run it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { render, isStateful, costSection } from './review.mjs';

const reviewSh = join(dirname(fileURLToPath(import.meta.url)), 'review.sh');

function template({ tableKey = 'id', grants = [], code = { A: 'aaaa', B: 'bbbb' } } = {}) {
  const fn = (name) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Bucket: 'assets', S3Key: `${code[name]}.zip` },
      Role: { 'Fn::GetAtt': ['Role', 'Arn'] }, Runtime: 'provided.al2023', Handler: 'bootstrap',
    },
  });
  return {
    Resources: {
      Table: {
        Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete',
        Properties: {
          KeySchema: [{ AttributeName: tableKey, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: tableKey, AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
        },
      },
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: { AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] } },
      },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'p', Roles: [{ Ref: 'Role' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': ['Table', 'Arn'] } }, ...grants],
          },
        },
      },
      FunctionA: fn('A'),
      FunctionB: fn('B'),
    },
  };
}

// scratch makes a repository with one commit per state and returns a helper
// that reviews commit i against commit i-1 with commit i checked out.
function scratch(states) {
  const dir = mkdtempSync(join(tmpdir(), 'review-scratch-'));
  const git = (...args) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  writeFileSync(join(dir, 'synth.sh'), '#!/bin/sh\nset -e\necho run >> "${SYNTH_LOG:-/dev/null}"\nmkdir -p "$1"\ncp templates/*.template.json "$1"/\n' +
    'if [ -f templates/sizes.json ]; then cp templates/sizes.json "$1"/; else echo "{}" > "$1"/sizes.json; fi\n', { mode: 0o755 });
  const commits = [];
  for (const [i, state] of states.entries()) {
    mkdirSync(join(dir, 'templates'), { recursive: true });
    writeFileSync(join(dir, 'templates', 'Shop-test-Api.template.json'), JSON.stringify(state.raw ?? template(state), null, 1));
    if (state.sizes) writeFileSync(join(dir, 'templates', 'sizes.json'), JSON.stringify(state.sizes));
    git('add', '-A');
    git('commit', '-q', '-m', `state ${i}`);
    commits.push(git('rev-parse', 'HEAD'));
  }
  const log = join(dir, 'synth.log');
  return {
    dir, log, git, commits,
    review(i, env = {}) {
      git('checkout', '-q', commits[i]);
      const r = spawnSync(reviewSh, [], {
        cwd: dir, encoding: 'utf8',
        env: { ...process.env, BASE: i > 0 ? commits[i - 1] : '', STAGE: 'test', REVIEW_SYNTH: './synth.sh', REVIEW_COST: 'off', SYNTH_LOG: log, ...env },
      });
      let full = '';
      try { full = readFileSync(join(dir, 'cdk.out', 'review.md'), 'utf8'); } catch { /* no report */ }
      return { status: r.status, out: r.stdout, err: r.stderr, full };
    },
    done() { rmSync(dir, { recursive: true, force: true }); },
  };
}

const section = (out, heading) => {
  const start = out.indexOf(`### ${heading}`);
  assert.ok(start >= 0, `no section ${heading} in:\n${out}`);
  const next = out.indexOf('\n### ', start + 4);
  return out.slice(start, next < 0 ? undefined : next);
};

test('each kind of change lands in its section', () => {
  const repo = scratch([
    {},
    { grants: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
    { grants: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }], tableKey: 'sku' },
    { grants: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }], tableKey: 'sku', code: { A: 'cccc', B: 'bbbb' } },
  ]);
  try {
    const wildcard = repo.review(1);
    assert.equal(wildcard.status, 0, wildcard.err);
    assert.match(section(wildcard.out, 'IAM and security groups'), /Wildcard grant added/);
    assert.match(section(wildcard.out, 'IAM and security groups'), /s3:\*/);
    assert.match(section(wildcard.out, 'Replaced, destroyed or orphaned'), /None\./);
    assert.match(section(wildcard.out, 'Functions whose only change is their code'), /None\./);

    const replaced = repo.review(2);
    assert.equal(replaced.status, 3, 'a replaced table must fail the review');
    const danger = section(replaced.out, 'Replaced, destroyed or orphaned');
    assert.match(danger, /\| Shop-test-Api \| Table \| AWS::DynamoDB::Table \| replaced \| \*\*data\*\* \|/);
    assert.match(danger, /Blocked:.*Table/);
    assert.doesNotMatch(section(replaced.out, 'IAM and security groups'), /Wildcard/);
    const allowed = repo.review(2, { ALLOW_REPLACE: 'Table' });
    assert.equal(allowed.status, 0, 'ALLOW_REPLACE names the table');
    assert.match(section(allowed.out, 'Replaced, destroyed or orphaned'), /allowed by ALLOW_REPLACE/);

    const code = repo.review(3);
    assert.equal(code.status, 0, code.err);
    assert.match(section(code.out, 'Functions whose only change is their code'), /- Shop-test-Api: FunctionA\n/);
    assert.doesNotMatch(code.out, /FunctionB/);
    assert.match(section(code.out, 'Replaced, destroyed or orphaned'), /None\./);
    assert.match(section(code.out, 'IAM and security groups'), /None\./);
    assert.match(code.full, /<details><summary>Shop-test-Api<\/summary>/);
  } finally {
    repo.done();
  }
});

test('the base synth is cached by commit', () => {
  const repo = scratch([{}, { code: { A: 'dddd', B: 'bbbb' } }]);
  try {
    repo.review(1);
    repo.review(1);
    // Two reviews: the working tree twice, the base once.
    assert.equal(readFileSync(repo.log, 'utf8').trim().split('\n').length, 3);
  } finally {
    repo.done();
  }
});

test('the printed report stays under the limit and names what it left out', () => {
  const blocks = Array.from({ length: 5 }, (_, i) => ({ name: `Stack${i}`, text: 'x'.repeat(30000) }));
  const { short, full } = render({ head: '## Review', blocks }, 60000, 'cdk.out/review.md');
  assert.ok(short.length < 60000, `${short.length} characters`);
  assert.ok(full.length > 150000);
  assert.match(short, /left out to stay under 60000 characters: cdk\.out\/review\.md has them/);
  assert.match(short, /<summary>Stack0<\/summary>/);
});

test('stateful types', () => {
  assert.ok(isStateful({ Type: 'AWS::DynamoDB::Table' }));
  assert.ok(isStateful({ Type: 'AWS::Cognito::UserPool' }));
  assert.ok(isStateful({ Type: 'AWS::ElastiCache::ServerlessCache' }));
  assert.ok(isStateful({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 7 } }));
  assert.ok(!isStateful({ Type: 'AWS::Logs::LogGroup', Properties: {} }));
  assert.ok(!isStateful({ Type: 'AWS::Lambda::Function' }));
});

test('the cost section shows each stack before, after and the change', () => {
  const text = costSection(
    { 'Shop-prod-Api': { idle: 9.52, busy: 18.04 }, 'Shop-prod-Old': { idle: 1, busy: 1 } },
    { 'Shop-prod-Api': { idle: 9.62, busy: 18.14 } },
  ).join('\n');
  assert.match(text, /\| Shop-prod-Api \| 9\.52 \| 9\.62 \| \+0\.10 \| 18\.04 \| 18\.14 \| \+0\.10 \|/);
  assert.match(text, /\| Shop-prod-Old \| 1\.00 \| 0\.00 \| −1\.00 \|/);
  assert.match(text, /\| total \| 10\.52 \| 9\.62 \| −0\.90 \|/);
  assert.match(costSection(undefined, undefined).join('\n'), /No estimate available/);
});

// A prod function behind a live alias: a code change publishes a new
// version, which the alias's deployment group shifts to; review names the
// shift and its configuration, and groups the function as code-only even
// though its asset metadata moved with the hash.
test('gradual deployments and code-only changes', async () => {
  const { analyse, report } = await import('./review.mjs');
  const prod = (hash) => ({
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Metadata: { 'aws:asset:path': `asset.${hash}`, 'aws:asset:property': 'Code' },
        Properties: { Code: { S3Bucket: 'assets', S3Key: `${hash}.zip` }, Handler: 'bootstrap', Runtime: 'provided.al2023' } },
      [`FnCurrentVersion${hash}`]: { Type: 'AWS::Lambda::Version', DeletionPolicy: 'Retain', Properties: { FunctionName: { Ref: 'Fn' } } },
      FnLive: { Type: 'AWS::Lambda::Alias', UpdatePolicy: { CodeDeployLambdaAliasUpdate: { ApplicationName: { Ref: 'App' }, DeploymentGroupName: { Ref: 'Group' } } },
        Properties: { FunctionName: { Ref: 'Fn' }, Name: 'live', FunctionVersion: { 'Fn::GetAtt': [`FnCurrentVersion${hash}`, 'Version'] } } },
      App: { Type: 'AWS::CodeDeploy::Application', Properties: { ComputePlatform: 'Lambda' } },
      Canary: { Type: 'AWS::CodeDeploy::DeploymentConfig', Properties: { ComputePlatform: 'Lambda', TrafficRoutingConfig: { Type: 'TimeBasedCanary', TimeBasedCanary: { CanaryInterval: 5, CanaryPercentage: 10 } } } },
      Group: { Type: 'AWS::CodeDeploy::DeploymentGroup', Properties: { ApplicationName: { Ref: 'App' }, DeploymentConfigName: { Ref: 'Canary' },
        AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: 'FnLiveErrors' } }] } } },
      FnLiveErrors: { Type: 'AWS::CloudWatch::Alarm', Properties: { Threshold: 1 } },
    },
  });
  const stacks = analyse(new Map([['Shop-prod-Api', prod('aaaa')]]), new Map([['Shop-prod-Api', prod('bbbb')]]));
  assert.deepEqual(stacks[0].codeOnly, ['Fn']);
  assert.deepEqual(stacks[0].dangerous, [], 'a retained version leaving the template is no danger');
  const r = report(stacks, { title: 't' });
  assert.match(r.head, /### Gradual deployments/);
  assert.match(r.head, /\| Shop-prod-Api \| FnLive \| canary 10% for 5 min, then all \| FnLiveErrors \|/);
  const same = analyse(new Map([['Shop-prod-Api', prod('aaaa')]]), new Map([['Shop-prod-Api', prod('aaaa')]]));
  assert.equal(same[0].shifts[0].shifts, false, 'an unchanged function does not shift');
});

// One scratch repository per case, each reviewed through review.sh as make
// review runs it.
const tableRes = (extra = {}) => ({ Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain',
  Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }, { AttributeName: 'a', AttributeType: 'S' }, { AttributeName: 'b', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST', ...extra } });
const gsi = (name, key) => ({ IndexName: name, KeySchema: [{ AttributeName: key, KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } });
const poolRes = (props = {}) => ({ Type: 'AWS::Cognito::UserPool', DeletionPolicy: 'Retain', Properties: { UsernameAttributes: ['email'], ...props } });
const client = (secret) => ({ Type: 'AWS::Cognito::UserPoolClient', Properties: { UserPoolId: { Ref: 'Pool' }, ClientName: 'payments', GenerateSecret: secret } });

const cases = [
  { name: 'a renamed construct: the orders table orphaned, a new empty one', states: [{ raw: { Resources: { OrdersTable1A2B: tableRes() } } }, { raw: { Resources: { ShopOrdersC3D4: tableRes() } } }],
    status: 3, sections: { Renames: /rename of OrdersTable1A2B to ShopOrdersC3D4 \(AWS::DynamoDB::Table\)\. In this stage OrdersTable1A2B is orphaned.*overrideLogicalId\('OrdersTable1A2B'\).*cdk refactor/,
      'Replaced, destroyed or orphaned': /OrdersTable1A2B \| AWS::DynamoDB::Table \| orphaned.*\*\*data\*\*[\s\S]*Blocked/ } },
  { name: 'two indexes added in one change', states: [{ raw: { Resources: { Orders: tableRes() } } }, { raw: { Resources: { Orders: tableRes({ GlobalSecondaryIndexes: [gsi('by-a', 'a'), gsi('by-b', 'b')] }) } } }],
    status: 3, sections: { 'CloudFormation will refuse': /Orders: 2 index operations in one update \(created by-a, by-b[\s\S]*one-gsi-per-update[\s\S]*Blocked/ } },
  { name: "the customer pool's sign-in attributes", states: [{ raw: { Resources: { Pool: poolRes() } } }, { raw: { Resources: { Pool: poolRes({ UsernameAttributes: undefined, AliasAttributes: ['email'] }) } } }],
    status: 3, sections: { 'CloudFormation will refuse': /Pool: UsernameAttributes changes/ } },
  { name: 'the payments client replaced', states: [{ raw: { Resources: { Pool: poolRes(), Payments: client(true) } } }, { raw: { Resources: { Pool: poolRes(), Payments: client(false) } } }],
    status: 3, sections: { 'Replaced, destroyed or orphaned': /Payments \| AWS::Cognito::UserPoolClient \| replaced \| \*\*identity\*\*/ },
    allowed: { ALLOW_REPLACE: 'Payments' } },
  { name: 'a binary grows by more than 10%', states: [{ sizes: { catalog: 1000000, cart: 1000 } }, { code: { A: 'eeee', B: 'bbbb' }, sizes: { catalog: 1150000, cart: 1000 } }],
    status: 3, sections: { 'Function binaries': /\| catalog \| 1000000 \| 1150000 \| \+15\.0% \| \*\*over budget\*\* \|[\s\S]*Blocked:\*\* catalog/ },
    allowed: { ALLOW_GROWTH: 'catalog' } },
  { name: 'a code-only change, asset metadata and all', states: [{ raw: withMetadata(template(), 'aaaa') }, { raw: withMetadata(template({ code: { A: 'ffff', B: 'bbbb' } }), 'ffff') }],
    status: 0, sections: { 'Functions whose only change is their code': /- Shop-test-Api: FunctionA\n/ } },
];

function withMetadata(t, hash) {
  t.Resources.FunctionA.Metadata = { 'aws:asset:path': `asset.${hash}`, 'aws:asset:property': 'Code' };
  return t;
}

for (const c of cases) {
  test(`make review: ${c.name}`, () => {
    const repo = scratch(c.states);
    try {
      const r = repo.review(1);
      assert.equal(r.status, c.status, r.out + r.err);
      for (const [heading, re] of Object.entries(c.sections)) assert.match(section(r.out, heading), re);
      if (c.allowed) {
        const a = repo.review(1, c.allowed);
        assert.equal(a.status, 0, `allowed by ${JSON.stringify(c.allowed)}:\n${a.out}`);
        assert.match(a.out, /allowed by ALLOW_/);
      }
    } finally {
      repo.done();
    }
  });
}

test('make review: values arrive as data, and the base defaults to deployed/<stage>', () => {
  const repo = scratch([{}, { code: { A: 'gggg', B: 'bbbb' } }]);
  try {
    const marker = join(repo.dir, 'pwned');
    const hostile = repo.review(1, { BASE: `$(touch ${marker})` });
    assert.equal(hostile.status, 2, hostile.err);
    assert.ok(!existsSync(marker), 'shell syntax in BASE ran');
    const badStage = repo.review(1, { STAGE: 'x;touch pwned' });
    assert.equal(badStage.status, 2, badStage.err);
    assert.ok(!existsSync(marker));
    const none = repo.review(1, { BASE: '' });
    assert.equal(none.status, 2, 'no BASE and no deployed tag');
    repo.git('tag', 'deployed/test', repo.commits[0]);
    const deployed = repo.review(1, { BASE: '' });
    assert.equal(deployed.status, 0, deployed.err);
    assert.match(deployed.err, /the base is what was last deployed to test \(deployed\/test\)/);
    assert.match(section(deployed.out, 'Functions whose only change is their code'), /FunctionA/);
  } finally {
    repo.done();
  }
});
