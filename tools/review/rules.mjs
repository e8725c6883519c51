// rules.mjs: what CloudFormation will refuse, predicted from a template pair
// (one stack, before and after), each rule with its source. The CDK's diff
// engine decides replacement from its resource spec, which misses some of
// these (an in-place update the service cannot do), and none of them fails a
// synth: they fail the deploy, half-way, and roll it back.
//
// A rule is { id, source, check(oldT, newT) -> [message] }.

const res = (t) => t?.Resources ?? {};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Physical-name properties by type: a resource that sets one and must be
// replaced cannot be (the new one would take the same name first).
export const NAME_PROPERTIES = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::ElastiCache::ServerlessCache': 'ServerlessCacheName',
  'AWS::ElastiCache::User': 'UserId',
  'AWS::ElastiCache::UserGroup': 'UserGroupId',
  'AWS::Cognito::UserPool': 'UserPoolName',
  'AWS::Cognito::UserPoolDomain': 'Domain',
  'AWS::Events::EventBus': 'Name',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SecretsManager::Secret': 'Name',
};

function gsis(table) {
  return new Map((table?.Properties?.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g]));
}

function attributeTypes(table) {
  return new Map((table?.Properties?.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
}

function keyAttributes(table) {
  const names = new Set((table?.Properties?.KeySchema ?? []).map((k) => k.AttributeName));
  for (const g of gsis(table).values()) for (const k of g.KeySchema ?? []) names.add(k.AttributeName);
  return names;
}

// tables yields [id, old, new] for every table in both templates.
function* tables(oldT, newT) {
  for (const [id, n] of Object.entries(res(newT))) {
    const o = res(oldT)[id];
    if (n.Type === 'AWS::DynamoDB::Table' && o?.Type === n.Type) yield [id, o, n];
  }
}

function* pools(oldT, newT) {
  for (const [id, n] of Object.entries(res(newT))) {
    const o = res(oldT)[id];
    if (n.Type === 'AWS::Cognito::UserPool' && o?.Type === n.Type) yield [id, o, n];
  }
}

export const RULES = [
  {
    id: 'resource-type-change',
    source: 'CloudFormation refuses an update that gives a logical id another resource type: "Update of resource type is not permitted" (CloudFormation User Guide, "Update behaviors of stack resources"); rename the construct so the new resource gets a new id',
    check(oldT, newT) {
      const out = [];
      for (const [id, o] of Object.entries(res(oldT))) {
        const n = res(newT)[id];
        if (n && n.Type !== o.Type) out.push(`${id}: ${o.Type} → ${n.Type} under one logical id: give the new resource another construct id`);
      }
      return out;
    },
  },
  {
    id: 'one-gsi-per-update',
    source: 'AWS::DynamoDB::Table, GlobalSecondaryIndexes: "you can create or delete only one global secondary index per update" (CloudFormation User Guide); an index whose key or projection changes is deleted and created',
    check(oldT, newT) {
      const out = [];
      for (const [id, o, n] of tables(oldT, newT)) {
        if (!same(o.Properties?.KeySchema, n.Properties?.KeySchema)) continue; // a replacement builds all indexes anew
        const before = gsis(o), after = gsis(n);
        const created = [...after.keys()].filter((k) => !before.has(k));
        const deleted = [...before.keys()].filter((k) => !after.has(k));
        const rebuilt = [...after.keys()].filter((k) => before.has(k) &&
          (!same(before.get(k).KeySchema, after.get(k).KeySchema) || !same(before.get(k).Projection, after.get(k).Projection)));
        const ops = created.length + deleted.length + 2 * rebuilt.length;
        if (ops > 1) {
          out.push(`${id}: ${ops} index operations in one update (created ${created.join(', ') || 'none'}; deleted ${deleted.join(', ') || 'none'}; ` +
            `rebuilt ${rebuilt.join(', ') || 'none'}): split the change, one index per deploy`);
        }
      }
      return out;
    },
  },
  {
    id: 'key-attribute-type',
    source: 'AWS::DynamoDB::Table, AttributeDefinitions: an attribute that keys the table or an index cannot change type in place (DynamoDB UpdateTable takes only the definitions of new indexes)',
    check(oldT, newT) {
      const out = [];
      for (const [id, o, n] of tables(oldT, newT)) {
        if (!same(o.Properties?.KeySchema, n.Properties?.KeySchema)) continue;
        const before = attributeTypes(o), after = attributeTypes(n), kept = keyAttributes(o);
        for (const [name, type] of after) {
          if (before.has(name) && before.get(name) !== type && kept.has(name) && keyAttributes(n).has(name)) {
            out.push(`${id}: key attribute ${name} changes type ${before.get(name)} → ${type}: add a new attribute and index instead`);
          }
        }
      }
      return out;
    },
  },
  {
    id: 'cognito-sign-in-attributes',
    source: 'Amazon Cognito Developer Guide, "User pool attributes": username attributes and aliases cannot be changed after the pool is created; the CDK diff engine shows an in-place update',
    check(oldT, newT) {
      const out = [];
      for (const [id, o, n] of pools(oldT, newT)) {
        for (const p of ['UsernameAttributes', 'AliasAttributes', 'UsernameConfiguration']) {
          if (!same(o.Properties?.[p], n.Properties?.[p])) out.push(`${id}: ${p} changes (${JSON.stringify(o.Properties?.[p] ?? null)} → ${JSON.stringify(n.Properties?.[p] ?? null)}): Cognito cannot change it on an existing pool`);
        }
      }
      return out;
    },
  },
  {
    id: 'cognito-schema',
    source: 'AWS::Cognito::UserPool, Schema: attributes can be added, never removed or changed (Amazon Cognito Developer Guide, "Custom attributes")',
    check(oldT, newT) {
      const out = [];
      for (const [id, o, n] of pools(oldT, newT)) {
        const after = new Map((n.Properties?.Schema ?? []).map((a) => [a.Name, a]));
        for (const a of o.Properties?.Schema ?? []) {
          if (!after.has(a.Name)) out.push(`${id}: schema attribute ${a.Name} is removed`);
          else if (!same(a, after.get(a.Name))) out.push(`${id}: schema attribute ${a.Name} changes: ${JSON.stringify(a)} → ${JSON.stringify(after.get(a.Name))}`);
        }
      }
      return out;
    },
  },
  {
    id: 'custom-name-replacement',
    source: 'CloudFormation: "cannot update a stack when a custom-named resource requires replacing" (the replacement is created before the old one is deleted, under the same name)',
    check(oldT, newT, changes = {}) {
      const out = [];
      for (const id of changes.replaced ?? []) {
        const n = res(newT)[id];
        const prop = NAME_PROPERTIES[n?.Type];
        if (prop && n.Properties?.[prop] !== undefined && same(n.Properties[prop], res(oldT)[id]?.Properties?.[prop])) {
          out.push(`${id} (${n.Type}) must be replaced and keeps its name ${prop}=${JSON.stringify(n.Properties[prop])}: change the name in the same change, or remove it and let CloudFormation name the resource`);
        }
      }
      return out;
    },
  },
  {
    id: 'non-empty-bucket',
    source: 'AWS::S3::Bucket: CloudFormation deletes only empty buckets ("The bucket you tried to delete is not empty"); the CDK empties one only with autoDeleteObjects',
    check(oldT, newT) {
      const out = [];
      const autoDelete = (t, id) => Object.values(res(t)).some((r) => r.Type === 'Custom::S3AutoDeleteObjects' && same(r.Properties?.BucketName, { Ref: id }));
      for (const [id, o] of Object.entries(res(oldT))) {
        if (o.Type !== 'AWS::S3::Bucket' || res(newT)[id] || o.DeletionPolicy === 'Retain' || o.DeletionPolicy === 'RetainExceptOnCreate') continue;
        if (!autoDelete(oldT, id)) out.push(`${id}: removed with DeletionPolicy ${o.DeletionPolicy ?? 'Delete'} and nothing empties it: the delete fails once it holds an object`);
      }
      return out;
    },
  },
];

// refusals runs every rule on one stack's pair.
export function refusals(oldT, newT, changes) {
  const out = [];
  for (const rule of RULES) {
    for (const message of rule.check(oldT ?? {}, newT ?? {}, changes)) out.push({ rule: rule.id, source: rule.source, message });
  }
  return out;
}

// Identity and state beyond data: replacing or deleting one of these breaks
// whoever holds its id, secret, address or key (a payment integration's
// client, a domain in a mail template, the subscribers of a topic).
export const IDENTITY_TYPES = new Set([
  'AWS::Cognito::UserPoolClient',
  'AWS::Cognito::UserPoolGroup',
  'AWS::Cognito::UserPoolDomain',
  'AWS::Cognito::UserPoolResourceServer',
  'AWS::ElastiCache::User',
  'AWS::ElastiCache::UserGroup',
  'AWS::KMS::Key',
  'AWS::Events::EventBus',
  'AWS::Lambda::EventSourceMapping',
  'AWS::CloudFront::Distribution',
]);

// isIdentity says whether a resource (in its template) is identity or state
// beyond data: the types above, and SNS topics that have subscribers.
export function isIdentity(id, resource, template) {
  if (!resource) return false;
  if (IDENTITY_TYPES.has(resource.Type)) return true;
  if (resource.Type === 'AWS::SNS::Topic') {
    if ((resource.Properties?.Subscription ?? []).length > 0) return true;
    return Object.values(res(template)).some((r) => r.Type === 'AWS::SNS::Subscription' && same(r.Properties?.TopicArn, { Ref: id }));
  }
  return false;
}

// renames pairs resources that leave a template with resources of the same
// type and the same properties that arrive in it: a construct renamed, whose
// logical id changed.
export function renames(oldT, newT, isKept) {
  const gone = Object.entries(res(oldT)).filter(([id, r]) => !res(newT)[id] && isKept(id, r, oldT));
  const added = Object.entries(res(newT)).filter(([id]) => !res(oldT)[id]);
  const out = [];
  const taken = new Set();
  for (const [from, r] of gone) {
    const match = added.find(([to, a]) => !taken.has(to) && a.Type === r.Type && same(a.Properties, r.Properties));
    if (!match) continue;
    taken.add(match[0]);
    const kept = r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate';
    out.push({ from, to: match[0], type: r.Type, kept });
  }
  return out;
}
