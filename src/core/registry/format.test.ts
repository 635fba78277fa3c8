import { describe, expect, it } from 'vitest';
import { legacyTorchPickle } from '../../../test/fixtures/models/pickle.js';
import { tinySafetensors } from '../../../test/fixtures/models/safetensors.js';
import { detectFileFormat, SNIFF_BYTES } from './format.js';

const textPickle = Buffer.from('(dp0\nVweight\np1\n(lp2\nF1.0\naF2.5\nas.', 'latin1');
const binaryPickle = Buffer.from('}q\x00X\x01\x00\x00\x00kq\x01G?\xf8\x00\x00\x00\x00\x00\x00s.', 'latin1');

/** The head detectFileFormat gets: the first SNIFF_BYTES, or the whole file when shorter. */
const head = (b: Buffer) => b.subarray(0, SNIFF_BYTES);

describe('detectFileFormat', () => {
  it.each(['model.json', 'config.json', 'weights', 'data.txt', 'model.safetensors'])(
    'finds a protocol 0/1 pickle by its content under the name %s',
    (name) => {
      expect(detectFileFormat(head(textPickle), name)).toBe('pickle');
      expect(detectFileFormat(head(binaryPickle), name)).toBe('pickle');
    },
  );

  it('finds a text pickle longer than the sniffed head', () => {
    let s = '(dp0\n';
    for (let i = 0; i < 4000; i++) s += `Vlayers.${i}.bias\np${i + 1}\nF0.${i}\ns`;
    const big = Buffer.from(`${s}.`, 'latin1');
    expect(big.length).toBeGreaterThan(SNIFF_BYTES);
    expect(detectFileFormat(head(big), 'state.json')).toBe('pickle');
  });

  it.each([
    [
      'tokenizer.json',
      '{\n  "version": "1.0",\n  "model": { "type": "BPE", "vocab": { "a": 0 }, "merges": [] }\n}\n',
    ],
    ['config.json', '{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}\n'],
    ['README.md', '---\nlicense: mit\n---\n# (tiny) model\n'],
    ['merges.txt', '#version: 0.2\nĠ t\nĠ a\nh e\n'],
  ])('leaves %s alone', (name, text) => {
    expect(detectFileFormat(head(Buffer.from(text)), name)).toBe('unknown');
  });

  it('still treats unrecognised content under a pickle name as a pickle, and knows the others', () => {
    expect(detectFileFormat(Buffer.from('not a known format'), 'pytorch_model.bin')).toBe('pickle');
    expect(detectFileFormat(legacyTorchPickle(), 'weights.dat')).toBe('pickle');
    expect(detectFileFormat(head(tinySafetensors()), 'model.bin')).toBe('safetensors');
  });
});
