/**
 * Pickle protocols 0 and 1 have no magic number: a pickle is just its opcodes, mostly printable
 * ASCII (protocol 0 is entirely text). They are recognised by walking the opcodes the way the
 * unpickler would, without building anything: every opcode must be known, every argument well
 * formed, the stack and marks consistent and every memo read must name a slot written before. Text
 * that is not a pickle fails within a few bytes; JSON cannot even start, as `{` is no opcode.
 */

/** Opcodes a real pickle starts with: containers, an object's class, torch's magic number. */
const FIRST = new Set(['(', 'c', '}', ']', ')', 'L', 'I']);
/** A head cut off mid-pickle counts only after this many opcodes that all held together. */
const MIN_OPCODES_WHEN_CUT = 16;

const INT = /^[-+]?\d+$/;
const LONG = /^[-+]?\d+L?$/;
const FLOAT = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|inf|nan)$/;
const QUOTED = /^('[^\n]*'|"[^\n]*")$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

class CutOff extends Error {}
class Invalid extends Error {}

class Walker {
  at = 0;
  opcodes = 0;
  /** Items on the stack since the innermost mark; the first entry is below every mark. */
  private readonly frames: number[] = [0];
  private readonly memo = new Set<number>();

  constructor(private readonly text: string) {}

  /** Walks to the first STOP; true when it was reached, false when the text ran out first. */
  run(): boolean {
    try {
      for (;;) {
        if (this.at >= this.text.length) return false;
        const op = this.text[this.at++] as string;
        if (this.opcodes === 0 && !FIRST.has(op)) throw new Invalid();
        this.opcodes++;
        if (this.step(op)) return true;
      }
    } catch (err) {
      if (err instanceof CutOff) return false;
      throw err;
    }
  }

  /** Applies one opcode; true for STOP. */
  private step(op: string): boolean {
    switch (op) {
      case '.':
        if (this.frames.length !== 1 || this.frames[0] !== 1) throw new Invalid();
        return true;
      case '(':
        this.frames.push(0);
        return false;
      case 'N':
      case ')':
      case ']':
      case '}':
      case '2':
        if (op === '2') this.need(1);
        return this.push();
      case 'I':
        this.arg((s) => INT.test(s));
        return this.push();
      case 'L':
        this.arg((s) => LONG.test(s));
        return this.push();
      case 'F':
        this.arg((s) => FLOAT.test(s));
        return this.push();
      case 'S':
        this.arg((s) => QUOTED.test(s));
        return this.push();
      case 'V':
        // raw-unicode-escape: bytes up to 0xff appear as they are; a newline is always escaped.
        this.arg(() => true);
        return this.push();
      case 'P':
        this.arg((s) => PRINTABLE.test(s));
        return this.push();
      case 'c':
        this.arg((s) => DOTTED.test(s));
        this.arg((s) => DOTTED.test(s));
        return this.push();
      case 'p':
        this.need(1);
        this.memo.add(Number(this.arg((s) => /^\d+$/.test(s))));
        return false;
      case 'g':
        this.get(Number(this.arg((s) => /^\d+$/.test(s))));
        return this.push();
      case 'q':
        this.need(1);
        this.memo.add(this.bytes(1).readUInt8(0));
        return false;
      case 'r':
        this.need(1);
        this.memo.add(this.bytes(4).readUInt32LE(0));
        return false;
      case 'h':
        this.get(this.bytes(1).readUInt8(0));
        return this.push();
      case 'j':
        this.get(this.bytes(4).readUInt32LE(0));
        return this.push();
      case 'K':
        this.bytes(1);
        return this.push();
      case 'M':
        this.bytes(2);
        return this.push();
      case 'J':
        this.bytes(4);
        return this.push();
      case 'G':
        this.bytes(8);
        return this.push();
      case 'U':
        this.bytes(this.bytes(1).readUInt8(0));
        return this.push();
      case 'T':
      case 'X':
        this.bytes(this.bytes(4).readUInt32LE(0));
        return this.push();
      case 't':
      case 'l':
        this.popMark();
        return this.push();
      case 'd':
        if (this.popMark() % 2 !== 0) throw new Invalid();
        return this.push();
      case 'i':
        this.arg((s) => DOTTED.test(s));
        this.arg((s) => DOTTED.test(s));
        this.popMark();
        return this.push();
      case 'o':
        if (this.popMark() < 1) throw new Invalid();
        return this.push();
      case 's':
        this.need(3);
        return this.pop(2);
      case 'a':
      case 'b':
        this.need(2);
        return this.pop(1);
      case 'R':
        this.need(2);
        return this.pop(1);
      case 'Q':
        this.need(1);
        return false;
      case 'u':
      case 'e': {
        const n = this.popMark();
        if ((op === 'u' && n % 2 !== 0) || (this.frames.at(-1) ?? 0) < 1) throw new Invalid();
        return false;
      }
      case '0':
        this.need(1);
        return this.pop(1);
      case '1':
        this.popMark();
        return false;
      default:
        throw new Invalid();
    }
  }

  private push(): false {
    this.frames[this.frames.length - 1] = (this.frames.at(-1) ?? 0) + 1;
    return false;
  }

  private pop(n: number): false {
    this.frames[this.frames.length - 1] = (this.frames.at(-1) ?? 0) - n;
    return false;
  }

  private need(n: number): void {
    if ((this.frames.at(-1) ?? 0) < n) throw new Invalid();
  }

  /** Drops the items above the innermost mark and the mark itself; answers how many there were. */
  private popMark(): number {
    if (this.frames.length < 2) throw new Invalid();
    return this.frames.pop() as number;
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new Invalid();
  }

  /** A newline-terminated argument that must satisfy `ok`. */
  private arg(ok: (s: string) => boolean): string {
    const end = this.text.indexOf('\n', this.at);
    if (end < 0) throw new CutOff();
    const s = this.text.slice(this.at, end);
    if (!ok(s)) throw new Invalid();
    this.at = end + 1;
    return s;
  }

  private bytes(n: number): Buffer {
    if (this.at + n > this.text.length) throw new CutOff();
    const b = Buffer.from(this.text.slice(this.at, this.at + n), 'latin1');
    this.at += n;
    return b;
  }
}

/**
 * Whether `head` starts with a pickle of protocol 0 or 1. A whole file (`cut` false) must hold a
 * complete first pickle, up to its STOP; a head cut off from a longer file must hold together to
 * its end over enough opcodes (a large pickle's STOP lies beyond it).
 */
export function isLegacyPickle(head: Uint8Array, cut: boolean): boolean {
  if (head.length === 0) return false;
  const walker = new Walker(Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1'));
  try {
    if (walker.run()) return true;
  } catch (err) {
    if (err instanceof Invalid) return false;
    throw err;
  }
  return cut && walker.opcodes >= MIN_OPCODES_WHEN_CUT;
}
