import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { EgressAllowList } from '../../config.js';

/**
 * Where the gateway may connect. Upstream URLs come from admins, but a URL that reaches the cloud
 * metadata service or an internal admin port turns Polar into a proxy into its own network (SSRF),
 * so every destination is checked twice: the URL when it is saved, and the address each connection
 * actually goes to. The second check happens inside the socket's own DNS lookup: the addresses it
 * returns are the ones checked and the only ones the socket may use, so a name that resolves to a
 * public address when saved and to 169.254.169.254 later (DNS rebinding) is still refused.
 *
 * Classes of addresses:
 * - `never`: unspecified, link-local (metadata services), multicast, reserved, and known metadata
 *   addresses. No allow-list entry opens them.
 * - `private`: loopback, RFC 1918, carrier-grade NAT, unique-local, documentation and benchmark
 *   ranges. Allowed only when POLAR_EGRESS_ALLOW lists the address (CIDR) or the host name.
 * - everything else is public and allowed.
 * An IPv6 address that carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) is judged by
 * the stricter of the two.
 */

type RangeClass = 'never' | 'private';
interface Range {
  cidr: string;
  name: string;
  class: RangeClass;
}

const RANGES: Range[] = [
  { cidr: '0.0.0.0/8', name: 'the unspecified network', class: 'never' },
  { cidr: '169.254.0.0/16', name: 'link-local (cloud metadata)', class: 'never' },
  { cidr: '100.100.100.200/32', name: 'a cloud metadata address', class: 'never' },
  { cidr: '168.63.129.16/32', name: 'a cloud metadata address', class: 'never' },
  { cidr: '224.0.0.0/4', name: 'multicast', class: 'never' },
  { cidr: '240.0.0.0/4', name: 'reserved (or broadcast)', class: 'never' },
  { cidr: '127.0.0.0/8', name: 'loopback', class: 'private' },
  { cidr: '10.0.0.0/8', name: 'private', class: 'private' },
  { cidr: '172.16.0.0/12', name: 'private', class: 'private' },
  { cidr: '192.168.0.0/16', name: 'private', class: 'private' },
  { cidr: '100.64.0.0/10', name: 'shared (carrier-grade NAT)', class: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments', class: 'private' },
  { cidr: '192.0.2.0/24', name: 'documentation', class: 'private' },
  { cidr: '198.51.100.0/24', name: 'documentation', class: 'private' },
  { cidr: '203.0.113.0/24', name: 'documentation', class: 'private' },
  { cidr: '198.18.0.0/15', name: 'benchmarking', class: 'private' },
  { cidr: '::/128', name: 'the unspecified address', class: 'never' },
  { cidr: '::1/128', name: 'loopback', class: 'private' },
  // After ::1: the rest of ::/96 is the deprecated IPv4-compatible form, which nothing legitimate uses.
  { cidr: '::/96', name: 'IPv4-compatible (deprecated)', class: 'never' },
  { cidr: 'fe80::/10', name: 'link-local (cloud metadata)', class: 'never' },
  { cidr: 'fd00:ec2::254/128', name: 'a cloud metadata address', class: 'never' },
  { cidr: 'ff00::/8', name: 'multicast', class: 'never' },
  { cidr: 'fc00::/7', name: 'unique-local (private)', class: 'private' },
  { cidr: 'fec0::/10', name: 'site-local (private)', class: 'private' },
  { cidr: '100::/64', name: 'discard-only', class: 'private' },
  { cidr: '2001:db8::/32', name: 'documentation', class: 'private' },
];

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 4 ? 'ipv4' : 'ipv6');

const COMPILED = RANGES.map((r) => {
  const [address = '', prefix = ''] = r.cidr.split('/');
  const list = new BlockList();
  list.addSubnet(address, Number(prefix), familyOf(address));
  return { ...r, list, family: familyOf(address) };
});

/** 16 bytes of an IPv6 address (without a zone), or null when it is not one. */
export function ipv6Bytes(address: string): Uint8Array | null {
  if (isIP(address) !== 6) return null;
  let text = address;
  const tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    for (const p of dotted[1].split('.')) tail.push(Number(p));
    text = `${text.slice(0, dotted.index)}:0:0`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const words = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

const quad = (b: Uint8Array, at: number, invert = false) =>
  Array.from(b.subarray(at, at + 4), (x) => (invert ? x ^ 0xff : x)).join('.');
const zeros = (b: Uint8Array, from: number, to: number) => b.subarray(from, to).every((x) => x === 0);

/**
 * The IPv4 address an IPv6 address carries, in every form a packet may end up delivered to it:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d),
 * NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::/48) and Teredo (2001:0::/32).
 */
export function embeddedIPv4(address: string): string | null {
  const b = ipv6Bytes(address);
  if (!b) return null;
  const w = (i: number) => ((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0);
  if (zeros(b, 0, 10) && w(5) === 0xffff) return quad(b, 12);
  if (zeros(b, 0, 8) && w(4) === 0xffff && w(5) === 0) return quad(b, 12);
  // ::a.b.c.d, except :: and ::1 which are IPv6 addresses of their own.
  if (zeros(b, 0, 12) && !(zeros(b, 12, 15) && (b[15] ?? 0) <= 1)) return quad(b, 12);
  if (w(0) === 0x64 && w(1) === 0xff9b && (zeros(b, 4, 12) || w(2) === 1)) return quad(b, 12);
  if (w(0) === 0x2002) return quad(b, 2);
  if (w(0) === 0x2001 && w(1) === 0) return quad(b, 12, true);
  return null;
}

export interface EgressVerdict {
  allowed: boolean;
  /** Why a destination is refused, in words that name the address and its range. */
  reason?: string | undefined;
}

/** Thrown (or passed to a socket's lookup callback) when the policy refuses a destination. */
export class EgressDenied extends Error {
  override readonly name = 'EgressDenied';
  readonly code = 'egress_denied';
  constructor(readonly reason: string) {
    super(`Egress refused: ${reason}`);
  }
}

/** Resolves a host name to every address it has (injectable so tests can stage DNS answers). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Brackets and a trailing dot removed, lower case: the form allow-list names are compared in. */
export const bareHost = (host: string) =>
  host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();

export interface EgressPolicy {
  /** Judges one address a connection would go to; `host` is the name it was reached by, if any. */
  decide(address: string, host?: string): EgressVerdict;
  /**
   * Checks a URL without connecting: scheme, credentials, and the host when it is an address (in
   * any spelling the URL parser accepts: decimal, octal, hex, IPv4-mapped). Returns the parsed URL.
   */
  checkUrl(url: string): URL;
  /** checkUrl, then the addresses the name resolves to now (a name that does not resolve passes). */
  checkUrlResolved(url: string, opts?: { timeoutMs?: number }): Promise<URL>;
  /** A `lookup` for node:net/http that resolves with the policy's resolver and refuses denied addresses. */
  lookup: LookupFunction;
}

export function createEgressPolicy(opts: { allow: EgressAllowList; resolver?: Resolver }): EgressPolicy {
  const resolver = opts.resolver ?? systemResolver;
  const allowed = new BlockList();
  for (const c of opts.allow.cidrs) allowed.addSubnet(c.address, c.prefix, c.family);
  const hosts = opts.allow.hosts;

  const hostListed = (host: string | undefined) => {
    if (!host) return false;
    const h = bareHost(host);
    return hosts.some((e) => (e.startsWith('*.') ? h.endsWith(e.slice(1)) : h === e));
  };
  const rangeOf = (address: string) => {
    const family = familyOf(address);
    return COMPILED.find((r) => r.family === family && r.list.check(address, family));
  };

  const decide = (rawAddress: string, host?: string): EgressVerdict => {
    const address = bareHost(rawAddress);
    if (address.includes('%')) return { allowed: false, reason: `${address} is a scoped (zone) address` };
    if (isIP(address) === 0) return { allowed: false, reason: `${address} is not an IP address` };
    const inner = embeddedIPv4(address);
    const candidates = inner ? [address, inner] : [address];
    let privateHit: { address: string; name: string } | undefined;
    for (const a of candidates) {
      const r = rangeOf(a);
      if (r?.class === 'never') {
        const shown = a === address ? a : `${address} (${a})`;
        return { allowed: false, reason: `${shown} is ${r.name}, which is never allowed` };
      }
      if (r && !privateHit) privateHit = { address: a, name: r.name };
    }
    if (!privateHit) return { allowed: true };
    if (candidates.some((a) => allowed.check(a, familyOf(a))) || hostListed(host)) return { allowed: true };
    const shown = privateHit.address === address ? address : `${address} (${privateHit.address})`;
    return {
      allowed: false,
      reason: `${shown} is ${privateHit.name}; list it (or the host name) in POLAR_EGRESS_ALLOW to allow it`,
    };
  };

  const checkUrl = (text: string): URL => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      // Not echoed: a malformed URL may still hold credentials the caller pasted into it.
      throw new EgressDenied('it is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new EgressDenied(`the scheme ${url.protocol} is not allowed; use http or https`);
    if (url.username || url.password)
      throw new EgressDenied('credentials in the URL are refused; give the key as api_key');
    const host = bareHost(url.hostname);
    if (!host) throw new EgressDenied('the URL has no host');
    if (isIP(host) !== 0) {
      const v = decide(host);
      if (!v.allowed) throw new EgressDenied(v.reason ?? host);
    }
    return url;
  };

  const resolveChecked = async (host: string) => {
    const addresses = await resolver(host);
    if (addresses.length === 0)
      throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    // One denied address refuses the name: a client could otherwise be steered to it by DNS order.
    for (const a of addresses) {
      const v = decide(a.address, host);
      if (!v.allowed) throw new EgressDenied(`${host} resolves to ${v.reason}`);
    }
    return addresses;
  };

  const lookup: LookupFunction = (hostname, options, callback) => {
    const host = bareHost(hostname);
    const literal = isIP(host);
    const answer =
      literal !== 0
        ? Promise.resolve(decide(host)).then((v) => {
            if (!v.allowed) throw new EgressDenied(v.reason ?? host);
            return [{ address: host, family: literal }];
          })
        : resolveChecked(host);
    answer.then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const fit = wanted ? all.filter((a) => a.family === wanted) : all;
        if (options.all) return callback(null, fit);
        const first = fit[0];
        if (!first) {
          const err = Object.assign(new Error(`${host} has no IPv${wanted} address`), { code: 'ENOTFOUND' });
          return callback(err as NodeJS.ErrnoException, '', 0);
        }
        callback(null, first.address, first.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };

  return {
    decide,
    checkUrl,
    async checkUrlResolved(text, o = {}) {
      const url = checkUrl(text);
      const host = bareHost(url.hostname);
      if (isIP(host) !== 0) return url;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((r) => {
        timer = setTimeout(() => r(null), o.timeoutMs ?? 3000);
      });
      try {
        await Promise.race([resolveChecked(host), timeout]);
      } catch (err) {
        // A name that does not resolve (yet) is accepted: every connection checks it again.
        if (err instanceof EgressDenied) throw err;
      } finally {
        clearTimeout(timer);
      }
      return url;
    },
    lookup,
  };
}
