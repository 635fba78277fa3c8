import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EgressAllowList, loadConfig } from '../../config.js';
import { createEgressPolicy, EgressDenied, embeddedIPv4, ipv6Bytes, type Resolver } from './egress.js';

const allow = (v = ''): EgressAllowList => loadConfig({ POLAR_EGRESS_ALLOW: v }).egressAllow;
const policy = (v = '', resolver?: Resolver) =>
  createEgressPolicy({ allow: allow(v), ...(resolver ? { resolver } : {}) });

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof EgressDenied) return err.reason;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('POLAR_EGRESS_ALLOW', () => {
  it('parses hosts, addresses and CIDRs of both families', () => {
    expect(allow('127.0.0.0/8, ::1, [fd00::]/8, vllm.LAN., *.corp.example, 10.1.2.3')).toEqual({
      hosts: ['vllm.lan', '*.corp.example'],
      cidrs: [
        { address: '127.0.0.0', prefix: 8, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
        { address: '10.1.2.3', prefix: 32, family: 'ipv4' },
      ],
    });
    expect(allow()).toEqual({ hosts: [], cidrs: [] });
  });

  it.each(['10.0.0.0/33', '::1/129', 'http://x', 'a b', 'foo/8', '127.1', '0x7f.1', '1.2.3.4/8/1'])(
    'refuses %s naming the variable',
    (v) => {
      expect(() => allow(v)).toThrow(/POLAR_EGRESS_ALLOW: '.*' is not a host name/);
    },
  );
});

describe('addresses', () => {
  const p = policy();
  it.each([
    ['169.254.169.254', /link-local \(cloud metadata\), which is never allowed/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /reserved/],
    ['100.100.100.200', /metadata/],
    ['168.63.129.16', /metadata/],
    ['fe80::1', /link-local/],
    ['ff02::1', /multicast/],
    ['::', /unspecified/],
    ['fd00:ec2::254', /metadata/],
    ['::ffff:a9fe:a9fe', /::ffff:a9fe:a9fe \(169\.254\.169\.254\) is link-local/],
    ['::ffff:169.254.169.254', /169\.254\.169\.254/],
    ['::ffff:0:a9fe:a9fe', /169\.254\.169\.254/],
    ['64:ff9b::a9fe:a9fe', /169\.254\.169\.254/],
    ['64:ff9b:1::a9fe:a9fe', /169\.254\.169\.254/],
    ['2002:a9fe:a9fe::1', /169\.254\.169\.254/],
    ['2001:0:4136:e378:8000:63bf:5601:5601', /169\.254\.169\.254/],
    ['::a9fe:a9fe', /IPv4-compatible|169\.254/],
    ['::2', /IPv4-compatible/],
  ])('never allows %s', (address, reason) => {
    const v = p.decide(address);
    expect(v.allowed).toBe(false);
    expect(v.reason).toMatch(reason);
    // No allow-list entry opens them.
    expect(policy('0.0.0.0/0,::/0,169.254.0.0/16,fe80::/10').decide(address).allowed).toBe(false);
  });

  it.each([
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['10.1.2.3', 'private', '10.0.0.0/8'],
    ['172.31.255.254', 'private', '172.16.0.0/12'],
    ['192.168.0.10', 'private', '192.168.0.0/16'],
    ['100.64.1.1', 'carrier-grade NAT', '100.64.0.0/10'],
    ['::1', 'loopback', '::1'],
    ['fd12:3456::1', 'unique-local', 'fc00::/7'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.0/8'],
    ['::ffff:10.0.0.1', 'private', '10.0.0.0/8'],
  ])('allows private %s only when listed', (address, name, listed) => {
    const v = policy().decide(address);
    expect(v.allowed).toBe(false);
    expect(v.reason).toContain(name);
    expect(v.reason).toContain('POLAR_EGRESS_ALLOW');
    expect(policy(listed).decide(address).allowed).toBe(true);
    expect(policy('192.0.2.0/24').decide(address).allowed).toBe(false);
  });

  it('allows a private address reached by a listed host name, exactly or under a wildcard', () => {
    const q = policy('vllm.lan,*.corp.example');
    expect(q.decide('10.0.0.5', 'vllm.lan').allowed).toBe(true);
    expect(q.decide('10.0.0.5', 'VLLM.LAN.').allowed).toBe(true);
    expect(q.decide('10.0.0.5', 'gpu.corp.example').allowed).toBe(true);
    expect(q.decide('10.0.0.5', 'corp.example').allowed).toBe(false);
    expect(q.decide('10.0.0.5', 'evilcorp.example').allowed).toBe(false);
    expect(q.decide('10.0.0.5', 'other.lan').allowed).toBe(false);
    // A listed name still never reaches a metadata address.
    expect(q.decide('169.254.169.254', 'vllm.lan').allowed).toBe(false);
  });

  it('allows public addresses of both families, also when mapped', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:0808:0808::1'])
      expect(p.decide(a), a).toEqual({ allowed: true });
  });

  it('refuses zone-scoped and non-addresses', () => {
    expect(p.decide('fe80::1%eth0').allowed).toBe(false);
    expect(p.decide('example.com').reason).toMatch(/not an IP address/);
  });

  it('reads the IPv4 address out of every IPv6 form that carries one', () => {
    expect(ipv6Bytes('::ffff:1.2.3.4')?.slice(10)).toEqual(new Uint8Array([0xff, 0xff, 1, 2, 3, 4]));
    expect(embeddedIPv4('::ffff:0102:0304')).toBe('1.2.3.4');
    expect(embeddedIPv4('::1')).toBeNull();
    expect(embeddedIPv4('::')).toBeNull();
    expect(embeddedIPv4('2606:4700::1')).toBeNull();
    expect(embeddedIPv4('1.2.3.4')).toBeNull();
  });
});

describe('checkUrl', () => {
  const p = policy();
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0xA9.0xFE.0xA9.0xFE/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://169.16689662/',
    'http://169.254.169.254./',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]:8080/v1',
    'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://0/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://127.1/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://[::1]:11434/',
    'https://10.0.0.1/v1',
  ])('refuses %s', (url) => {
    expect(refusal(() => p.checkUrl(url))).toMatch(/never allowed|POLAR_EGRESS_ALLOW/);
  });

  it.each([
    ['ftp://example.com/', /scheme ftp: is not allowed/],
    ['file:///etc/passwd', /scheme file:/],
    ['gopher://example.com/', /scheme gopher:/],
    ['http://user:pass@example.com/', /credentials in the URL/],
    ['http://:sk-secret@example.com/', /credentials in the URL/],
    ['not a url', /not a valid URL/],
    ['http://[fe80::1%25eth0]/', /not a valid URL/],
  ])('refuses %s', (url, reason) => {
    const why = refusal(() => p.checkUrl(url));
    expect(why).toMatch(reason);
    expect(why).not.toContain('sk-secret');
  });

  it('accepts public addresses and names, and listed private ones', () => {
    expect(p.checkUrl('https://api.openai.com/v1').hostname).toBe('api.openai.com');
    expect(p.checkUrl('http://8.8.8.8:8000/v1').hostname).toBe('8.8.8.8');
    expect(policy('127.0.0.0/8').checkUrl('http://127.0.0.1:9999/v1').port).toBe('9999');
    expect(policy('127.0.0.0/8').checkUrl('http://0x7f.1/').hostname).toBe('127.0.0.1');
  });
});

describe('names at save time', () => {
  const staged: Record<string, string[]> = {
    'metadata.test': ['169.254.169.254'],
    'mixed.test': ['8.8.8.8', '169.254.169.254'],
    'loop.test': ['127.0.0.1'],
    'public.test': ['8.8.4.4', '2001:4860:4860::8888'],
    'mapped.test': ['::ffff:169.254.169.254'],
  };
  const resolver: Resolver = async (h) => {
    const list = staged[h];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  it('refuses a name that resolves to a blocked address, naming both', async () => {
    const p = policy('', resolver);
    await expect(p.checkUrlResolved('http://metadata.test/')).rejects.toThrow(
      /metadata\.test resolves to 169\.254\.169\.254 is link-local/,
    );
    await expect(p.checkUrlResolved('http://mixed.test/')).rejects.toThrow(/169\.254\.169\.254/);
    await expect(p.checkUrlResolved('http://mapped.test/')).rejects.toThrow(/169\.254\.169\.254/);
    await expect(p.checkUrlResolved('http://loop.test/')).rejects.toThrow(/loopback/);
  });

  it('accepts public names, listed names, and names that do not resolve yet', async () => {
    expect((await policy('', resolver).checkUrlResolved('http://public.test/')).hostname).toBe('public.test');
    expect((await policy('loop.test', resolver).checkUrlResolved('http://loop.test/')).hostname).toBe(
      'loop.test',
    );
    expect((await policy('', resolver).checkUrlResolved('http://nowhere.test/')).hostname).toBe(
      'nowhere.test',
    );
  });

  it('does not wait on a resolver that hangs', async () => {
    const p = createEgressPolicy({ allow: allow(), resolver: () => new Promise(() => undefined) });
    const t0 = Date.now();
    await p.checkUrlResolved('http://slow.test/', { timeoutMs: 50 });
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

/** Every way a URL may spell one IPv4 address; the URL parser must bring each back to it. */
function spellings(n: number): string[] {
  const b = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255] as const;
  const hex = (x: number) => x.toString(16);
  const h16 = (x: number) => hex(x).padStart(4, '0');
  const hi = (b[0] << 8) | b[1];
  const lo = (b[2] << 8) | b[3];
  return [
    b.join('.'),
    `${b.join('.')}.`,
    String(n),
    `0x${hex(n)}`,
    `0X${hex(n).toUpperCase()}`,
    `0${n.toString(8)}`,
    b.map((x) => `0x${hex(x)}`).join('.'),
    b.map((x) => `0${x.toString(8)}`).join('.'),
    `${b[0]}.${b[1]}.${(b[2] << 8) | b[3]}`,
    `${b[0]}.${n & 0xffffff}`,
    `0x${hex(b[0])}.0${b[1].toString(8)}.${lo}`,
    `[::ffff:${b.join('.')}]`,
    `[::ffff:${h16(hi)}:${h16(lo)}]`,
    `[0:0:0:0:0:FFFF:${hex(hi)}:${hex(lo)}]`,
    `[::ffff:0:${b.join('.')}]`,
    `[64:ff9b::${b.join('.')}]`,
    `[2002:${h16(hi)}:${h16(lo)}::1]`,
  ];
}

const V4_DENIED: [number, number][] = [
  ['169.254.0.0', 16],
  ['0.0.0.0', 8],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
].map(([a, bits]) => [(a as string).split('.').reduce((acc, x) => acc * 256 + Number(x), 0), bits as number]);

const inRange = ([base, bits]: [number, number]) =>
  fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((off) => base + off);
const deniedV4 = fc.oneof(...V4_DENIED.map(inRange));
const isDenied = (n: number) => V4_DENIED.some(([base, bits]) => n >= base && n < base + 2 ** (32 - bits));

describe('property: spelling never changes the verdict', () => {
  const p = policy();
  it('refuses any address of a denied IPv4 range in any spelling', () => {
    fc.assert(
      fc.property(deniedV4, fc.nat({ max: 16 }), (n, which) => {
        const all = spellings(n);
        const s = all[which % all.length] as string;
        expect(() => p.checkUrl(`http://${s}:8080/v1`), s).toThrow(EgressDenied);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses any address of a denied IPv6 range in any spelling', () => {
    const v6 = fc
      .tuple(
        fc.constantFrom(0xfe80, 0xfebf, 0xfc00, 0xfdff, 0xff00, 0xff02),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([first, rest, upper, pad]) => {
        const words = [first, ...rest].map((w) => (pad ? w.toString(16).padStart(4, '0') : w.toString(16)));
        const text = words.join(':');
        return upper ? text.toUpperCase() : text;
      });
    fc.assert(
      fc.property(v6, (s) => {
        expect(() => p.checkUrl(`http://[${s}]/`), s).toThrow(EgressDenied);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts any public IPv4 address in any spelling', () => {
    const publicV4 = fc
      .integer({ min: 0, max: 2 ** 32 - 1 })
      .filter((n) => !isDenied(n) && p.decide(spellings(n)[0] as string).allowed);
    fc.assert(
      fc.property(publicV4, fc.nat({ max: 16 }), (n, which) => {
        const all = spellings(n);
        const s = all[which % all.length] as string;
        expect(() => p.checkUrl(`http://${s}/`), s).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
