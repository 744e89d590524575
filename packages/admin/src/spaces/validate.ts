/**
 * `validateSpacesConfiguration`: static checks of a connection (endpoint
 * format, region mismatch, path style, bucket names, credentials shape) and
 * live checks of its buckets (reachable, versioning, public access).
 * AWS, MinIO, Ceph and other S3-compatible endpoints are valid: only
 * DigitalOcean-specific advice is given for DigitalOcean hosts.
 */
import { GetBucketAclCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SpacesValidationResult } from '@chronos-db/core';
import { mapS3Error, s3ErrorInfo } from '@chronos-db/storage-s3';
import { configuredBuckets, connRedactor, withClient, type SpacesConnection } from './connection.js';
import { probeBucket } from './probe.js';

export type { SpacesValidationResult };

export interface ValidateOptions {
  /** Also check the buckets on the server (reachable, versioning, public access). Default true. */
  live?: boolean;
}

const DO_HOST = /^([a-z]{3}\d)\.digitaloceanspaces\.com$/;
const DO_ANY = /(^|\.)digitaloceanspaces\.com$/;
const AWS_REGION_HOST = /(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const PLACEHOLDER = /^(your[-_ ]?(access|secret)[-_ ]?key([-_ ]?here)?|changeme|xxx+|\.\.\.|<.*>)$/i;

/** The region an endpoint host names, if any: `fra1` for fra1.digitaloceanspaces.com, `eu-west-1` for s3.eu-west-1.amazonaws.com. */
export function endpointRegion(endpoint: string): { region: string; provider: 'digitalocean' | 'aws' } | null {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return null;
  }
  const d = DO_HOST.exec(host);
  if (d) return { region: d[1]!, provider: 'digitalocean' };
  const a = AWS_REGION_HOST.exec(host);
  if (a) return { region: a[1]!, provider: 'aws' };
  return null;
}

/** Why a bucket name is invalid for S3 (and Spaces), or null. */
export function bucketNameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length < 3 || name.length > 63) return 'must be 3-63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'may contain only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return 'must not contain adjacent dots or a dot next to a hyphen';
  if (IPV4.test(name)) return 'must not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return "must not start with 'xn--' or 'sthree-'";
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return "must not end with '-s3alias' or '--ol-s3'";
  return null;
}

function isLocalHost(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '127.0.0.1' ||
    host === '[::1]' ||
    host === '::1' ||
    /^(10|127)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\./.test(host)
  );
}

function staticChecks(conn: SpacesConnection, issues: string[], recs: string[]): { host: string | null; isDo: boolean } {
  // Endpoint format
  let url: URL | null = null;
  try {
    url = new URL(conn.endpoint);
  } catch {
    issues.push('Invalid endpoint: must be a URL like https://fra1.digitaloceanspaces.com');
  }
  let host: string | null = null;
  let isDo = false;
  if (url) {
    host = url.hostname.toLowerCase();
    isDo = DO_ANY.test(host);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      issues.push(`Invalid endpoint: protocol '${url.protocol.replace(':', '')}' is not http or https`);
    if (url.username || url.password) issues.push('Invalid endpoint: it must not contain credentials; use accessKey and secretKey');
    if (url.pathname !== '/' && url.pathname !== '')
      issues.push(`Invalid endpoint: it must not contain a path ('${url.pathname}'); put bucket names in jsonBucket, contentBucket and backupsBucket`);
    if (url.search) issues.push('Invalid endpoint: it must not contain a query string');
    if (url.protocol === 'http:' && !isLocalHost(host)) recs.push(`Use https for '${host}': credentials and payloads should not travel in clear text`);
    if (isDo) {
      const m = DO_HOST.exec(host);
      if (!m) {
        const sub = host.replace(/\.digitaloceanspaces\.com$/, '');
        const parts = sub.split('.');
        const regionPart = parts[parts.length - 1] ?? '';
        if (parts.length > 1 && /^[a-z]{3}\d$/.test(regionPart)) {
          issues.push(
            `Invalid endpoint: '${host}' includes a bucket name; use https://${regionPart}.digitaloceanspaces.com and set the bucket names separately`,
          );
        } else if (parts.includes('cdn')) {
          issues.push(`Invalid endpoint: '${host}' is a CDN endpoint; use the origin endpoint https://<region>.digitaloceanspaces.com`);
        } else {
          issues.push(
            `Invalid endpoint: '${host}' is not a DigitalOcean Spaces endpoint; use https://<region>.digitaloceanspaces.com (e.g. fra1, nyc3, sfo3, sgp1, ams3)`,
          );
        }
      }
    }
  }

  // Region
  if (typeof conn.region !== 'string' || !conn.region.trim()) {
    issues.push('Missing region: set region to the endpoint region (e.g. fra1) or us-east-1');
  } else if (!/^[a-z0-9-]+$/.test(conn.region)) {
    issues.push(`Invalid region '${conn.region.slice(0, 40)}': use lowercase letters, digits and hyphens (e.g. fra1, us-east-1)`);
  } else {
    const er = endpointRegion(conn.endpoint);
    if (er && er.region !== conn.region) {
      // The guide: with DigitalOcean, the AWS-compatible 'us-east-1' also works.
      const acceptedAlias = er.provider === 'digitalocean' && conn.region === 'us-east-1';
      if (!acceptedAlias) issues.push(`Region mismatch: endpoint uses '${er.region}' but config specifies '${conn.region}'`);
    }
  }

  // Path style
  if (host) {
    if (isDo && conn.forcePathStyle === true) {
      recs.push('Use forcePathStyle: false (virtual-hosted style) with DigitalOcean Spaces: it is the recommended style and performs better');
    }
    const bare = host.replace(/^\[|\]$/g, '');
    if (conn.forcePathStyle !== true && (IPV4.test(bare) || bare.includes(':'))) {
      recs.push(`Set forcePathStyle: true for an IP endpoint ('${host}'): virtual-hosted style needs a DNS name for every bucket`);
    }
  }

  // Bucket names
  const roles = [
    ['jsonBucket', conn.jsonBucket],
    ['contentBucket', conn.contentBucket],
    ['backupsBucket', conn.backupsBucket],
  ] as const;
  for (const [role, name] of roles) {
    if (typeof name !== 'string' || !name) {
      issues.push(`Missing ${role}: set the bucket name`);
      continue;
    }
    const p = bucketNameProblem(name);
    if (p) issues.push(`Invalid ${role} '${name.slice(0, 70)}': a bucket name ${p}`);
    else if (name.includes('.') && conn.forcePathStyle !== true && url?.protocol === 'https:') {
      recs.push(`Avoid dots in ${role} '${name}': with virtual-hosted style over https they break certificate validation`);
    }
  }
  for (let i = 0; i < roles.length; i++) {
    for (let j = i + 1; j < roles.length; j++) {
      if (roles[i]![1] && roles[i]![1] === roles[j]![1])
        issues.push(`${roles[i]![0]} and ${roles[j]![0]} are the same bucket '${roles[i]![1]}': use three separate buckets`);
    }
  }

  // Credentials shape (never echo a value)
  const ak = conn.accessKey;
  const sk = conn.secretKey;
  if (typeof ak !== 'string' || !ak) issues.push('Missing accessKey: set it, e.g. from process.env.DO_SPACES_ACCESS_KEY');
  else if (/\s/.test(ak)) issues.push('Invalid accessKey: it contains whitespace (check how the environment variable is set)');
  else if (PLACEHOLDER.test(ak)) issues.push('Invalid accessKey: it looks like a placeholder, not a real key');
  else if (isDo && !/^[A-Z0-9]{20}$/.test(ak))
    recs.push('The accessKey does not look like a DigitalOcean Spaces key (20 uppercase letters and digits, usually starting with DO)');
  if (typeof sk !== 'string' || !sk) issues.push('Missing secretKey: set it, e.g. from process.env.DO_SPACES_SECRET_KEY');
  else if (/\s/.test(sk)) issues.push('Invalid secretKey: it contains whitespace (check how the environment variable is set)');
  else if (PLACEHOLDER.test(sk)) issues.push('Invalid secretKey: it looks like a placeholder, not a real key');
  else if (sk.length < 20) issues.push('Invalid secretKey: it is too short to be a real secret key');
  else if (sk === ak) issues.push('Invalid credentials: secretKey equals accessKey');
  else if (isDo && !/^[A-Za-z0-9+/]{43}$/.test(sk)) recs.push('The secretKey does not look like a DigitalOcean Spaces secret (43 characters of base64)');

  return { host, isDo };
}

interface PolicyStatement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
}

function principalIsPublic(p: unknown): boolean {
  if (p === '*') return true;
  if (p && typeof p === 'object') {
    const aws = (p as { AWS?: unknown }).AWS;
    if (aws === '*' || (Array.isArray(aws) && aws.includes('*'))) return true;
  }
  return false;
}

function actionAllowsRead(a: string | string[] | undefined): boolean {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.some((x) => ['*', 's3:*', 's3:getobject', 's3:get*'].includes(x.toLowerCase()));
}

const ALL_USERS = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)/;

/** 'policy' / 'acl' when anyone can read the bucket's objects, else null. */
async function publicRead(client: S3Client, bucket: string): Promise<'policy' | 'acl' | null> {
  try {
    const out = await client.send(new GetBucketPolicyCommand({ Bucket: bucket }));
    if (out.Policy) {
      const doc = JSON.parse(out.Policy) as { Statement?: PolicyStatement | PolicyStatement[] };
      const sts = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
      if (sts.some((s) => s.Effect === 'Allow' && principalIsPublic(s.Principal) && actionAllowsRead(s.Action))) return 'policy';
    }
  } catch (e) {
    const code = s3ErrorInfo(e).code;
    if (code !== 'NoSuchBucketPolicy' && code !== 'NotImplemented' && code !== 'NoSuchPolicy') throw e;
  }
  const acl = await client.send(new GetBucketAclCommand({ Bucket: bucket }));
  for (const g of acl.Grants ?? []) {
    if (g.Grantee?.Type === 'Group' && ALL_USERS.test(g.Grantee.URI ?? '') && (g.Permission === 'READ' || g.Permission === 'FULL_CONTROL')) return 'acl';
  }
  return null;
}

async function liveChecks(conn: SpacesConnection, issues: string[], recs: string[]): Promise<void> {
  await withClient(conn, async (client, redact) => {
    for (const { role, name } of configuredBuckets(conn)) {
      const probe = await probeBucket(client, name, redact);
      if (probe.state !== 'ok') {
        issues.push(probe.error);
        if (probe.state === 'missing') recs.push(`Create bucket '${name}' (ensureBucketsExist with { confirm: true, createIfMissing: true })`);
        continue;
      }
      if (role === 'json' || role === 'content') {
        try {
          const v = await client.send(new GetBucketVersioningCommand({ Bucket: name }));
          if (v.Status !== 'Enabled')
            recs.push(`Enable versioning on bucket '${name}' (Spaces: Settings → Versioning) to keep overwritten or deleted objects recoverable`);
        } catch (e) {
          recs.push(`Could not read the versioning state of bucket '${name}': ${mapS3Error(e, { op: 'getBucketVersioning', bucket: name, redact }).message}`);
        }
      }
      try {
        const pub = await publicRead(client, name);
        if (pub) {
          const how = pub === 'policy' ? 'its bucket policy allows public s3:GetObject' : 'its ACL grants read to all users';
          issues.push(
            `Bucket '${name}' (${role}) is publicly readable: ${how}. Remove public access and share ${role === 'content' ? 'content' : 'objects'} through presigned URLs (presignProperty)`,
          );
        }
      } catch (e) {
        recs.push(`Could not check public access of bucket '${name}': ${mapS3Error(e, { op: 'getBucketPolicy', bucket: name, redact }).message}`);
      }
    }
  });
}

export async function validateSpacesConfiguration(conn: SpacesConnection, opts: ValidateOptions = {}): Promise<SpacesValidationResult> {
  const issues: string[] = [];
  const recommendations: string[] = [];
  staticChecks(conn, issues, recommendations);
  // Live checks only make sense when the connection itself is usable.
  const usable = !issues.some(
    (i) =>
      i.startsWith('Invalid endpoint') ||
      i.startsWith('Missing') ||
      i.startsWith('Invalid accessKey') ||
      i.startsWith('Invalid secretKey') ||
      i.startsWith('Invalid credentials'),
  );
  if (opts.live !== false && usable) {
    try {
      await liveChecks(conn, issues, recommendations);
    } catch (e) {
      const redact = connRedactor(conn);
      issues.push(redact(`Could not reach the endpoint: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  return { valid: issues.length === 0, issues: dedupe(issues), recommendations: dedupe(recommendations) };
}

function dedupe(a: string[]): string[] {
  return [...new Set(a)];
}
