// Fake but well-formed secrets for the tests, assembled at run time from pieces
// and seeded random characters, so this repository holds no string that a
// secret scanner would flag while the tests still see the real shapes.
import { SeededRandom } from '../fixtures/seeded-random';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const ALNUM = UPPER + UPPER.toLowerCase() + DIGITS;
const BASE64 = ALNUM + '+/';

export class FakeSecrets {
  private readonly random: SeededRandom;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  chars(alphabet: string, count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += alphabet[this.random.integer(0, alphabet.length)];
    return out;
  }

  awsAccessKey(): string {
    return ['AK', 'IA'].join('') + this.chars(UPPER + '234567', 16);
  }

  awsSecretKey(): string {
    return this.chars(BASE64, 40);
  }

  githubToken(): string {
    return ['gh', 'p_'].join('') + this.chars(ALNUM, 36);
  }

  githubFineGrained(): string {
    return ['github', '_pat_'].join('') + this.chars(ALNUM, 22) + '_' + this.chars(ALNUM, 59);
  }

  slackToken(): string {
    return ['xo', 'xb-'].join('') + this.chars(DIGITS, 12) + '-' + this.chars(DIGITS, 13) + '-' + this.chars(ALNUM, 24);
  }

  googleApiKey(): string {
    return ['AI', 'za'].join('') + this.chars(ALNUM + '-_', 35);
  }

  stripeKey(): string {
    return ['sk', '_li', 've_'].join('') + this.chars(ALNUM, 24);
  }

  openAiKey(): string {
    return ['sk', '-proj-'].join('') + this.chars(ALNUM, 20) + ['T3Blbk', 'FJ'].join('') + this.chars(ALNUM, 20);
  }

  jwt(): string {
    const part = (n: number): string => this.chars(ALNUM + '-_', n);
    return ['ey', 'J'].join('') + part(20) + '.' + ['ey', 'J'].join('') + part(40) + '.' + part(43);
  }

  /** A PEM private key block of `kind` ("RSA", "OPENSSH", "" for PKCS #8), body random base64. */
  privateKey(kind: string): string {
    const label = `${kind ? `${kind} ` : ''}${['PRIVATE', 'KEY'].join(' ')}`;
    const lines = Array.from({ length: 6 }, () => this.chars(BASE64, 64));
    return `${'-'.repeat(5)}BEGIN ${label}${'-'.repeat(5)}\n${lines.join('\n')}\n${'-'.repeat(5)}END ${label}${'-'.repeat(5)}\n`;
  }
}
