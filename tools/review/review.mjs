// review.mjs compares two synthesized cloud assemblies stack by stack with
// the CDK's own diff engine (@aws-cdk/cloudformation-diff, pinned in
// package.json) and writes a Markdown report for code review: no AWS account
// is involved.
//
//   node tools/review/review.mjs --base DIR --head DIR [--report FILE]
//        [--allow-replace ID,ID] [--allow-growth FN,FN] [--max-chars 60000]
//        [--title TEXT] [--sizes-base FILE --sizes-head FILE]
//
// The printed report stays under --max-chars; the complete one goes to
// --report. The exit status is 3 when the change is blocked: CloudFormation
// would refuse it (rules.mjs), a stateful or identity resource would be
// replaced, destroyed or orphaned and --allow-replace does not name its
// logical id, or a function's binary grows by more than 10% and
// --allow-growth does not name it; 2 on a usage or input error; 0 otherwise.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Writable } from 'node:stream';
import { refusals, renames, isIdentity } from './rules.mjs';

const require = createRequire(import.meta.url);
const cfnDiff = require('@aws-cdk/cloudformation-diff');
const { ResourceImpact } = cfnDiff;

// Resources whose replacement or deletion loses data or identity.
export const STATEFUL_TYPES = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::Cognito::UserPool',
  'AWS::ElastiCache::ServerlessCache',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::SecretsManager::Secret',
  'AWS::KMS::Key',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::EFS::FileSystem',
  'AWS::SQS::Queue',
]);

// isStateful says whether a resource (its template entry) keeps data: the
// types above, and log groups with a retention (their logs are the record).
export function isStateful(resource) {
  if (!resource) return false;
  if (resource.Type === 'AWS::Logs::LogGroup') return resource.Properties?.RetentionInDays !== undefined;
  return STATEFUL_TYPES.has(resource.Type);
}

function parseArgs(argv) {
  const args = { maxChars: 60000, allow: new Set(), growth: new Set(), title: 'Infrastructure review' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--base': args.base = v; i++; break;
      case '--head': args.head = v; i++; break;
      case '--report': args.report = v; i++; break;
      case '--title': args.title = v; i++; break;
      case '--cost-base': args.costBase = v; i++; break;
      case '--cost-head': args.costHead = v; i++; break;
      case '--max-chars': args.maxChars = Number(v); i++; break;
      case '--sizes-base': args.sizesBase = v; i++; break;
      case '--sizes-head': args.sizesHead = v; i++; break;
      case '--allow-growth':
        for (const fn of (v || '').split(/[\s,]+/)) if (fn) args.growth.add(fn);
        i++;
        break;
      case '--allow-replace':
        for (const id of (v || '').split(/[\s,]+/)) if (id) args.allow.add(id);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.base || !args.head) throw new Error('--base and --head are required');
  return args;
}

// templates reads every *.template.json of an assembly directory, by stack name.
export function templates(dir) {
  const out = new Map();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.template.json')) out.set(basename(f, '.template.json'), JSON.parse(readFileSync(join(dir, f), 'utf8')));
  }
  return out;
}

function plain(text) {
  // The formatter colours its output for terminals.
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

function formatted(diff) {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, cb) { text += chunk.toString(); cb(); } });
  stream.columns = 120;
  cfnDiff.formatDifferences(stream, diff);
  return plain(text).trimEnd();
}

// withoutAssetMetadata drops the CDK's asset metadata (aws:asset:path and
// friends change with every asset hash) from a resource's Metadata.
function withoutAssetMetadata(m) {
  if (!m || typeof m !== 'object') return m;
  return Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('aws:asset:')));
}

// onlyCode says whether a resource update changes nothing but a function's
// code (the asset hash in Code.S3Key, and the asset metadata that follows
// it), which review can group in one line.
export function onlyCode(change) {
  const type = change.resourceType;
  if (type !== 'AWS::Lambda::Function' || !change.isUpdate) return false;
  const props = Object.keys(change.propertyUpdates);
  const others = Object.entries(change.otherChanges).filter(([key, d]) => d.isDifferent &&
    !(key === 'Metadata' && JSON.stringify(withoutAssetMetadata(d.oldValue)) === JSON.stringify(withoutAssetMetadata(d.newValue))));
  return props.length > 0 && props.every((p) => p === 'Code') && others.length === 0;
}

// shifts lists, for a head template, the functions whose live alias a
// CodeDeploy deployment group shifts and how: a function shifts in this
// change when its published version is new (its code or configuration
// changed).
export function shifts(oldT, newT) {
  const res = newT.Resources ?? {};
  const out = [];
  for (const [id, g] of Object.entries(res)) {
    if (g.Type !== 'AWS::CodeDeploy::DeploymentGroup') continue;
    const alias = Object.entries(res).find(([, r]) => r.Type === 'AWS::Lambda::Alias' &&
      JSON.stringify(r.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.DeploymentGroupName) === JSON.stringify({ Ref: id }));
    if (!alias) continue;
    const version = alias[1].Properties?.FunctionVersion?.['Fn::GetAtt']?.[0];
    const fresh = version && !(oldT.Resources ?? {})[version];
    let how = JSON.stringify(g.Properties?.DeploymentConfigName ?? '');
    const customId = g.Properties?.DeploymentConfigName?.Ref;
    const canary = customId && res[customId]?.Properties?.TrafficRoutingConfig?.TimeBasedCanary;
    if (canary) how = `canary ${canary.CanaryPercentage}% for ${canary.CanaryInterval} min, then all`;
    else if (how.includes('AllAtOnce')) how = 'all at once';
    const alarms = (g.Properties?.AlarmConfiguration?.Alarms ?? []).map((a) => JSON.stringify(a.Name).match(/"Ref":"([A-Za-z0-9]+)"/)?.[1] ?? JSON.stringify(a.Name));
    out.push({ alias: alias[0], shifts: Boolean(fresh), how, alarms });
  }
  return out.sort((a, b) => a.alias.localeCompare(b.alias));
}

const IMPACT_WORD = {
  [ResourceImpact.WILL_REPLACE]: 'replaced',
  [ResourceImpact.MAY_REPLACE]: 'may be replaced',
  [ResourceImpact.WILL_DESTROY]: 'destroyed',
  [ResourceImpact.WILL_ORPHAN]: 'orphaned (kept, no longer managed)',
};

// analyse diffs every stack of base against head.
export function analyse(base, head) {
  const stacks = [...new Set([...base.keys(), ...head.keys()])].sort();
  const result = [];
  for (const name of stacks) {
    const oldT = base.get(name) ?? {};
    const newT = head.get(name) ?? {};
    const diff = cfnDiff.fullDiff(oldT, newT);
    const entry = { name, diff, added: 0, changed: 0, removed: 0, dangerous: [], codeOnly: [], newStack: !base.has(name), goneStack: !head.has(name),
      shifts: shifts(oldT, newT), refusals: [], renames: [] };
    diff.resources.forEachDifference((id, change) => {
      if (change.isAddition) entry.added++;
      else if (change.isRemoval) entry.removed++;
      else entry.changed++;
      if (change.resourceTypeChanged) {
        // The diff engine has no one type for it (and throws if asked):
        // CloudFormation refuses the update (rule resource-type-change).
        entry.dangerous.push({ id, type: `${change.oldResourceType} → ${change.newResourceType}`, impact: ResourceImpact.WILL_REPLACE,
          stateful: isStateful(change.oldValue), identity: isIdentity(id, change.oldValue, oldT) });
        return;
      }
      const impact = change.changeImpact;
      // A function's published versions come and go with its code: the
      // old one is retained (see the gradual deployments section).
      if (change.resourceType === 'AWS::Lambda::Version' && (change.isAddition || change.isRemoval)) return;
      if (IMPACT_WORD[impact]) {
        const resource = change.oldValue ?? change.newValue;
        entry.dangerous.push({ id, type: change.resourceType, impact, stateful: isStateful(resource),
          identity: isIdentity(id, resource, change.oldValue ? oldT : newT) });
      } else if (onlyCode(change)) {
        entry.codeOnly.push(id);
      }
    });
    const replaced = entry.dangerous.filter((d) => d.impact === ResourceImpact.WILL_REPLACE).map((d) => d.id);
    entry.refusals = refusals(oldT, newT, { replaced });
    entry.renames = renames(oldT, newT, (id, r, t) => isStateful(r) || isIdentity(id, r, t));
    result.push(entry);
  }
  return result;
}

function table(rows) {
  if (rows.length === 0) return '';
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const [head, ...body] = rows;
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

// report builds the Markdown report; blocks is the full diff per stack, which
// the caller may shorten.
// costSection is the monthly cost per stack before and after, idle and under
// the usage profile (make cost), or says that no estimate was available.
export function costSection(base, head) {
  const lines = ['### Monthly cost (make cost, USD)', ''];
  if (!base || !head) return [...lines, 'No estimate available.', ''];
  const usd = (v) => (v || 0).toFixed(2);
  const delta = (a, b) => `${b - a >= 0 ? '+' : '−'}${Math.abs(b - a).toFixed(2)}`;
  const rows = [['stack', 'idle before', 'idle after', 'change', 'under usage before', 'after', 'change']];
  const total = { bi: 0, hi: 0, bb: 0, hb: 0 };
  for (const name of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    const b = base[name] || {}, h = head[name] || {};
    rows.push([name, usd(b.idle), usd(h.idle), delta(b.idle || 0, h.idle || 0), usd(b.busy), usd(h.busy), delta(b.busy || 0, h.busy || 0)]);
    total.bi += b.idle || 0; total.hi += h.idle || 0; total.bb += b.busy || 0; total.hb += h.busy || 0;
  }
  rows.push(['total', usd(total.bi), usd(total.hi), delta(total.bi, total.hi), usd(total.bb), usd(total.hb), delta(total.bb, total.hb)]);
  return [...lines, table(rows), ''];
}

// sizesSection compares each function's binary before and after; a growth
// over budget (10%) blocks the change unless allowGrowth names the function.
export function sizesSection(base, head, allowGrowth = new Set(), budget = 0.10) {
  const lines = ['### Function binaries', ''];
  if (!base || !head || Object.keys(head).length === 0) return { lines: [...lines, 'No sizes available.', ''], grown: [] };
  const rows = [['function', 'before (bytes)', 'after (bytes)', 'change', '']];
  const grown = [];
  for (const fn of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    const b = base[fn], h = head[fn];
    let note = '';
    if (b && h && h > b * (1 + budget)) {
      note = allowGrowth.has(fn) ? '**over budget** (allowed by ALLOW_GROWTH)' : '**over budget**';
      if (!allowGrowth.has(fn)) grown.push(fn);
    }
    const change = b && h ? `${h >= b ? '+' : '−'}${(Math.abs(h - b) / b * 100).toFixed(1)}%` : b ? 'removed' : 'new';
    rows.push([fn, b ?? '', h ?? '', change, note]);
  }
  lines.push(table(rows), '');
  if (grown.length > 0) {
    lines.push(`**Blocked:** ${grown.join(', ')} grew by more than ${budget * 100}%. If that is intended, name them in ALLOW_GROWTH.`, '');
  }
  return { lines, grown };
}

export function report(stacks, { title, allow = new Set(), cost = {}, sizes = {}, allowGrowth = new Set() }) {
  const lines = [`## ${title}`, ''];
  const changed = stacks.filter((s) => !s.diff.isEmpty);
  if (changed.length === 0) {
    lines.push('No stack changes.');
    return { head: lines.join('\n'), blocks: [], blocked: [] };
  }
  lines.push('### Summary', '');
  lines.push(table([['stack', 'added', 'changed', 'removed', ''],
    ...changed.map((s) => [s.name, s.added, s.changed, s.removed, s.newStack ? 'new stack' : s.goneStack ? 'stack removed' : ''])]));
  lines.push('');

  // What CloudFormation would refuse comes first: the deploy would fail
  // half-way and roll back, whatever the rest says.
  const refused = changed.flatMap((s) => s.refusals.map((r) => ({ ...r, stack: s.name })));
  if (refused.length > 0) {
    lines.push('### CloudFormation will refuse', '');
    for (const r of refused) lines.push(`- **${r.stack}**: ${r.message} _(rule ${r.rule}: ${r.source})_`);
    lines.push('', `**Blocked:** ${refused.length} change(s) CloudFormation will refuse.`, '');
  }

  const renamed = changed.flatMap((s) => s.renames.map((r) => ({ ...r, stack: s.name })));
  if (renamed.length > 0) {
    lines.push('### Renames', '');
    for (const r of renamed) {
      lines.push(`- **${r.stack}**: rename of ${r.from} to ${r.to} (${r.type}). In this stage ` +
        (r.kept ? `${r.from} is orphaned (kept, no longer managed) and ${r.to} is created empty: the stage moves to the empty one.`
          : `${r.from} is destroyed with what it holds, and ${r.to} is created empty.`) +
        ` Fix: keep the logical id (\`overrideLogicalId('${r.from}')\` on the new construct's resource), or move it with \`cdk refactor\` in a change of its own.`);
    }
    lines.push('');
  }

  const dangerous = changed.flatMap((s) => s.dangerous.map((d) => ({ ...d, stack: s.name })));
  const blockedResources = dangerous.filter((d) => (d.stateful || d.identity) && !allow.has(d.id));
  lines.push('### Replaced, destroyed or orphaned', '');
  if (dangerous.length === 0) {
    lines.push('None.');
  } else {
    const kind = (d) => d.stateful ? 'data' : d.identity ? 'identity' : '';
    lines.push(table([['stack', 'logical id', 'type', 'what happens', 'keeps'],
      ...dangerous.map((d) => [d.stack, d.id, d.type, IMPACT_WORD[d.impact],
        kind(d) ? (allow.has(d.id) ? `**${kind(d)}** (allowed by ALLOW_REPLACE)` : `**${kind(d)}**`) : 'no'])]));
  }
  lines.push('');
  if (blockedResources.length > 0) {
    lines.push(`**Blocked:** ${blockedResources.length} resource(s) that keep data or identity would be replaced, destroyed or orphaned: ` +
      `${blockedResources.map((d) => d.id).join(', ')}. If that is intended, name them in ALLOW_REPLACE.`, '');
  }

  lines.push('### IAM and security groups', '');
  let security = false;
  for (const s of changed) {
    const iam = s.diff.iamChanges;
    const sg = s.diff.securityGroupChanges;
    if (iam.hasChanges) {
      security = true;
      lines.push(`#### ${s.name}: IAM${iam.permissionsBroadened ? ' (broadened)' : ''}`, '');
      const st = iam.summarizeStatements().map((r) => r.map(plain));
      if (st.length > 1) lines.push(table(st), '');
      const mp = iam.summarizeManagedPolicies().map((r) => r.map(plain));
      if (mp.length > 1) lines.push(table(mp), '');
      const wild = st.slice(1).filter((r) => r[0].trim() === '+' && (/(^|\s)\*(\s|$)/.test(r[1]) || /:\*/.test(r[3] ?? '') || /(^|\s)\*(\s|$)/.test(r[3] ?? '')));
      if (wild.length > 0) lines.push(`**Wildcard grant added:** ${wild.length} statement(s) with \`*\` in the resource or action.`, '');
    }
    if (sg.hasChanges) {
      security = true;
      lines.push(`#### ${s.name}: security groups`, '', table(sg.summarize().map((r) => r.map(plain))), '');
    }
  }
  if (!security) lines.push('None.', '');

  lines.push('### Functions whose only change is their code', '');
  const code = changed.filter((s) => s.codeOnly.length > 0);
  if (code.length === 0) lines.push('None.');
  for (const s of code) lines.push(`- ${s.name}: ${s.codeOnly.sort().join(', ')}`);
  lines.push('');
  const gradual = changed.flatMap((s) => s.shifts.filter((x) => x.shifts).map((x) => ({ ...x, stack: s.name })));
  if (gradual.length > 0) {
    lines.push('### Gradual deployments', '');
    lines.push(table([['stack', 'live alias', 'shifts', 'rolls back on'], ...gradual.map((x) => [x.stack, x.alias, x.how, x.alarms.join(', ')])]));
    lines.push('');
  }
  lines.push(...costSection(cost.base, cost.head));
  const size = sizesSection(sizes.base, sizes.head, allowGrowth);
  lines.push(...size.lines);

  const blocks = changed.map((s) => ({ name: s.name, text: formatted(s.diff) }));
  const blocked = [...refused.map((r) => r.rule), ...blockedResources.map((d) => d.id), ...size.grown];
  return { head: lines.join('\n'), blocks, blocked };
}

function details(name, text) {
  return `<details><summary>${name}</summary>\n\n\`\`\`\n${text}\n\`\`\`\n\n</details>`;
}

// render joins the head and as many whole diff blocks as fit in maxChars;
// the rest are named, with a pointer to the full report.
export function render({ head, blocks }, maxChars, reportPath) {
  const full = [head, '### Full diff', '', ...blocks.map((b) => details(b.name, b.text))].join('\n\n');
  if (full.length <= maxChars) return { short: full, full };
  const parts = [head, '### Full diff', ''];
  let size = parts.join('\n\n').length;
  const left = [];
  const note = (n) => `_${n} stack diff(s) left out to stay under ${maxChars} characters: ${reportPath ?? 'see the full report'} has them._`;
  for (const b of blocks) {
    const d = details(b.name, b.text);
    if (size + d.length + 400 <= maxChars) {
      parts.push(d);
      size += d.length + 2;
    } else {
      left.push(b.name);
    }
  }
  if (left.length > 0) parts.push(note(left.length) + ' (' + left.join(', ') + ')');
  let short = parts.join('\n\n');
  if (short.length > maxChars) short = short.slice(0, maxChars - 200) + '\n\n' + note(blocks.length);
  return { short, full };
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`review: ${e.message}\n`);
    process.exit(2);
  }
  const stacks = analyse(templates(args.base), templates(args.head));
  const cost = args.costBase && args.costHead
    ? { base: JSON.parse(readFileSync(args.costBase, 'utf8')), head: JSON.parse(readFileSync(args.costHead, 'utf8')) } : {};
  const sizes = args.sizesBase && args.sizesHead && existsSync(args.sizesBase) && existsSync(args.sizesHead)
    ? { base: JSON.parse(readFileSync(args.sizesBase, 'utf8')), head: JSON.parse(readFileSync(args.sizesHead, 'utf8')) } : {};
  const r = report(stacks, { title: args.title, allow: args.allow, cost, sizes, allowGrowth: args.growth });
  const { short, full } = render(r, args.maxChars, args.report);
  if (args.report) writeFileSync(args.report, full + '\n');
  process.stdout.write(short + '\n');
  process.exit(r.blocked.length > 0 ? 3 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
