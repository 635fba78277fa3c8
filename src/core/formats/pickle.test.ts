import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteLevelBpe, wordPiece } from '../../../test/fixtures/models/hf-tokenizers.js';
import { isLegacyPickle } from './pickle.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** Bytes `pickle.dumps` writes (CPython 3.11) for the objects named. */
const PICKLES: [string, Buffer][] = [
  [
    'protocol 0 OrderedDict of a state dict',
    latin1(
      'ccollections\nOrderedDict\np0\n(tRp1\nVweight\np2\n(lp3\nF1.0\naF2.5\nasVbias\np4\n(I0\nI-3\ntp5\nsVname\np6\nVlin\np7\nsVflag\np8\nI01\nsVnone\np9\nNs.',
    ),
  ],
  ['protocol 0 dict', latin1('(dp0\nVa\np1\nI1\nsVb\np2\n(lp3\nI1\naI2\naI3\nasVc\np4\nVx\np5\ns.')],
  ['protocol 0 list of dicts', latin1('(lp0\n(dp1\nVk\np2\nF1.5\nsa.')],
  ['protocol 0 tuple', latin1('(I1\nVa\np0\ntp1\n.')],
  [
    'protocol 1 OrderedDict of a state dict',
    latin1(
      'ccollections\nOrderedDict\nq\x00)Rq\x01(X\x06\x00\x00\x00weightq\x02]q\x03(G?\xf0\x00\x00\x00\x00\x00\x00G@\x04\x00\x00\x00\x00\x00\x00eX\x04\x00\x00\x00biasq\x04(K\x00J\xfd\xff\xff\xfftq\x05X\x04\x00\x00\x00nameq\x06X\x03\x00\x00\x00linq\x07X\x04\x00\x00\x00flagq\x08I01\nX\x04\x00\x00\x00noneq\tNu.',
    ),
  ],
  [
    'protocol 1 dict',
    latin1(
      '}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02]q\x03(K\x01K\x02K\x03eX\x01\x00\x00\x00cq\x04X\x01\x00\x00\x00xq\x05u.',
    ),
  ],
  ['protocol 1 list', latin1(']q\x00}q\x01X\x01\x00\x00\x00kq\x02G?\xf8\x00\x00\x00\x00\x00\x00sa.')],
  ['protocol 0 call of os.system', latin1("cos\nsystem\n(S'echo hi'\np0\ntp1\nRp2\n.")],
  // torch.save(..., pickle_protocol=0, _use_new_zipfile_serialization=False) starts with its magic number.
  [
    'legacy torch.save magic number',
    latin1('L119547037146038801333356L\n.I1001\n.(dp0\nVprotocol_version\np1\nI1001\ns.'),
  ],
];

/** A protocol-0 dict pickle far longer than a sniffed head, as pickle.dumps writes it. */
function largeTextPickle(entries: number): Buffer {
  let s = '(dp0\n';
  let memo = 1;
  for (let i = 0; i < entries; i++) s += `Vlayer.${i}.weight\np${memo++}\nF${(i / 7).toFixed(6)}\ns`;
  return latin1(`${s}.`);
}

const tokenizerJson = Buffer.from(JSON.stringify(byteLevelBpe(40).tokenizer, null, 2));
const merges = (byteLevelBpe(40).tokenizer as { model: { merges: [string, string][] } }).model.merges;
const TEXT: [string, Buffer][] = [
  ['tokenizer.json', tokenizerJson],
  ['tokenizer.json (minified)', Buffer.from(JSON.stringify(byteLevelBpe(40).tokenizer))],
  [
    'config.json',
    Buffer.from(
      JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64 }, null, 2),
    ),
  ],
  ['README.md', Buffer.from('---\nlicense: apache-2.0\n---\n# Tiny model\n\nA (small) model.\n')],
  ['README.md without front matter', Buffer.from('# cat\n\nccollections is a word.\n')],
  ['merges.txt', Buffer.from(`#version: 0.2\n${merges.map((m) => m.join(' ')).join('\n')}\n`)],
  ['merges.txt without header', Buffer.from(`${merges.map((m) => m.join(' ')).join('\n')}\n`)],
  [
    'vocab.txt',
    Buffer.from(
      `${Object.keys((wordPiece().tokenizer as { model: { vocab: object } }).model.vocab).join('\n')}\n`,
    ),
  ],
  ['LICENSE', Buffer.from('(c) 2024 Polar authors\nLicensed under the Apache License.\n')],
  ['python source', Buffer.from('class Model:\n    pass\n')],
  ['an int on a line', Buffer.from('I1\n')],
  ['empty', Buffer.alloc(0)],
];

describe('isLegacyPickle', () => {
  it.each(PICKLES)('recognises a %s', (_name, bytes) => {
    expect(isLegacyPickle(bytes, false)).toBe(true);
    // Followed by more pickles or raw tensor bytes, as torch.save's legacy layout is.
    expect(isLegacyPickle(Buffer.concat([bytes, Buffer.from([0, 1, 2, 0xff])]), false)).toBe(true);
  });

  it('recognises a large text pickle from its first 64 KiB, whose STOP lies beyond them', () => {
    const bytes = largeTextPickle(5000);
    expect(bytes.length).toBeGreaterThan(128 * 1024);
    const head = bytes.subarray(0, 64 * 1024);
    expect(isLegacyPickle(head, true)).toBe(true);
    // The same bytes as a whole file are a pickle without its end: not enough to say.
    expect(isLegacyPickle(head, false)).toBe(false);
  });

  it('does not call a few opcodes cut off a pickle', () => {
    expect(isLegacyPickle(latin1('(dp0\nVa\np1\n'), true)).toBe(false);
  });

  it.each(TEXT)('does not take %s for a pickle', (_name, bytes) => {
    expect(isLegacyPickle(bytes, false)).toBe(false);
    expect(isLegacyPickle(bytes, true)).toBe(false);
  });

  it('does not take a large text file cut after 64 KiB for a pickle', () => {
    const big = Buffer.from(`#version: 0.2\n${'Ġ t\nĠ a\nh e\n'.repeat(10_000)}`);
    expect(isLegacyPickle(big.subarray(0, 64 * 1024), true)).toBe(false);
    const json = Buffer.from(JSON.stringify({ vocab: Array.from({ length: 20_000 }, (_, i) => `tok${i}`) }));
    expect(isLegacyPickle(json.subarray(0, 64 * 1024), true)).toBe(false);
  });

  it.each([
    ['a SETITEM without a key and value', '(lp0\nI1\nsa.'],
    ['a read of a memo slot never written', '(lp0\ng7\na.'],
    ['a STOP with an open mark', '(I1\n.'],
    ['an APPEND on an empty stack', ']a.'],
    ['a global with a space in its name', 'cos system\nexec\n.'],
    ['an odd number of dict items', '(I1\nd.'],
  ])('refuses opcodes that do not hold together: %s', (_name, text) => {
    expect(isLegacyPickle(latin1(text), false)).toBe(false);
  });

  it('never takes JSON for a pickle', () => {
    fc.assert(
      fc.property(fc.json(), fc.boolean(), (json, cut) => !isLegacyPickle(Buffer.from(json), cut)),
      { numRuns: 1000 },
    );
  });
});
