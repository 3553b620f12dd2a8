// Text <-> token ids for a GGUF model, from the tokenizer.ggml.* metadata. The BPE itself is
// @huggingface/tokenizers' (built from a tokenizer.json assembled from the metadata); this
// class adds what the server needs around it: control tokens only when asked for, offsets
// for the token -> (file, line) map, byte-exact and streaming decoding, BOS/EOS and stop ids.
import type { MetadataValue } from '../engine';
import { missingUtf8Byte, ByteLevelBpeEncoder } from './byte-level-bpe-encoder';
import { byteLevelChar } from './byte-level-alphabet';
import { GgufVocabulary, VocabularyModel, readGgufVocabulary } from './gguf-vocabulary';
import { createHfTokenizer } from './hf-tokenizers';
import { SentencePieceBpeEncoder } from './sentencepiece-bpe-encoder';
import { SpecialTokenSplitter, TextSection } from './special-token-splitter';
import { stopTokenIds } from './stop-tokens';
import { TextRunEncoder } from './text-run-encoder';
import { TokenBytes } from './token-bytes';
import { TokenStreamDecoder, createTokenStreamDecoder, newUtf8Decoder } from './token-stream-decoder';
import { TokenType, isAddedTokenType, isSpecialTokenType } from './token-types';
import { tokenizerJsonFromVocabulary } from './tokenizer-json';

export interface EncodeOptions {
  /**
   * true: control tokens written in the text ("<|im_start|>", "<s>") become their token ids;
   * for prompt formats. false (default): control-token text is ordinary text, so a source file
   * that mentions "<|im_end|>" cannot end a turn; for repository content and user input.
   * User-defined tokens ("<think>" in Qwen, some single characters in DeepSeek Coder) are
   * vocabulary words the model was trained to see whole: they are matched either way, as
   * llama.cpp and Hugging Face tokenizers do.
   */
  parseSpecial?: boolean;
  /**
   * SentencePiece (`llama`) vocabularies with add_space_prefix only: the text starts a prompt,
   * so a "▁" goes before its first word, as SentencePiece does at the start of a text. Default
   * false: the text continues earlier text (the repository after the head, one file after
   * another), so pieces tokenized one by one join up like the whole. Text right after an
   * added token always gets the "▁", as in llama.cpp. Byte-level BPE ignores this option.
   */
  startsPrompt?: boolean;
  /**
   * With parseSpecial: stretches of the text (UTF-16 offsets, end exclusive) that came from a
   * user or a file (a question, a selection, an earlier answer) inside a prompt format. Control
   * tokens written there stay text, as with parseSpecial false, so only the format itself makes
   * control tokens: a selection holding "<|im_end|><|im_start|>system" cannot open a turn.
   */
  literalSpans?: ReadonlyArray<{ readonly start: number; readonly end: number }>;
}

export interface DecodeOptions {
  /** Leave out control, unknown and unused tokens (BOS, EOS, <|im_end|>, ...). Default false. */
  skipSpecial?: boolean;
}

export interface EncodedText {
  ids: number[];
  /** For each token, the UTF-16 offset in the text where it starts (non-decreasing). */
  starts: number[];
}

export class TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** End-of-turn token (tokenizer.ggml.eot_token_id), when the file names one. */
  readonly eotId: number | undefined;
  /** Whether a prompt starts with BOS (tokenizer.ggml.add_bos_token; default true for llama, false for gpt2). encode() never adds it. */
  readonly addBos: boolean;
  /** Whether the model's own tokenizer appends EOS to a text (tokenizer.ggml.add_eos_token; default false). encode() never adds it. */
  readonly addEos: boolean;
  /** Ids that end generation: EOS, EOT, EOM and end-of-turn control tokens such as <|im_end|>, <|endoftext|>, <|eot_id|>. */
  readonly stopIds: readonly number[];
  readonly model: VocabularyModel;
  /** tokenizer.ggml.pre for byte-level BPE ('qwen2', 'llama-bpe', ...); undefined for SentencePiece. */
  readonly pre: string | undefined;

  private readonly vocabulary: GgufVocabulary;
  private readonly runEncoder: TextRunEncoder;
  /** Finds every added token (parseSpecial), or only the user-defined ones. */
  private readonly allAddedTokens: SpecialTokenSplitter;
  private readonly userDefinedTokens: SpecialTokenSplitter;
  private readonly bytes: TokenBytes;
  private readonly special: Uint8Array;
  private idByText: Map<string, number> | undefined;

  static fromMetadata(metadata: Readonly<Record<string, MetadataValue>>): TextTokenizer {
    return new TextTokenizer(readGgufVocabulary(metadata));
  }

  private constructor(vocabulary: GgufVocabulary) {
    this.vocabulary = vocabulary;
    const { tokens, tokenTypes } = vocabulary;
    const { model } = createHfTokenizer(tokenizerJsonFromVocabulary(vocabulary));
    if (vocabulary.model === 'gpt2') {
      const missing = missingUtf8Byte((byte) => model.tokens_to_ids.has(byteLevelChar(byte)));
      if (missing !== undefined) {
        throw new Error(
          `the byte-level vocabulary has no token for byte 0x${missing.toString(16).padStart(2, '0')}, so some text cannot be encoded: the GGUF file's tokenizer is incomplete`,
        );
      }
      if (vocabulary.preTokenizer === undefined) throw new Error('internal: a gpt2 vocabulary without a pre-tokenizer');
      this.runEncoder = new ByteLevelBpeEncoder(model, vocabulary.preTokenizer);
    } else {
      this.runEncoder = new SentencePieceBpeEncoder(model, vocabulary.unknownId);
    }

    const added: { content: string; id: number }[] = [];
    const userDefined: { content: string; id: number }[] = [];
    this.special = new Uint8Array(tokens.length);
    for (let id = 0; id < tokens.length; id++) {
      if (isAddedTokenType(tokenTypes[id])) added.push({ content: tokens[id], id });
      if (tokenTypes[id] === TokenType.USER_DEFINED) userDefined.push({ content: tokens[id], id });
      if (isSpecialTokenType(tokenTypes[id])) this.special[id] = 1;
    }
    for (const id of [vocabulary.bosId, vocabulary.eosId, vocabulary.eotId, vocabulary.eomId]) if (id !== undefined) this.special[id] = 1;
    this.allAddedTokens = new SpecialTokenSplitter(added);
    this.userDefinedTokens = new SpecialTokenSplitter(userDefined);
    this.bytes = new TokenBytes(vocabulary);

    this.vocabSize = tokens.length;
    this.bosId = vocabulary.bosId;
    this.eosId = vocabulary.eosId;
    this.eotId = vocabulary.eotId;
    this.addBos = vocabulary.addBos;
    this.addEos = vocabulary.addEos;
    this.stopIds = Object.freeze(stopTokenIds(vocabulary));
    this.model = vocabulary.model;
    this.pre = vocabulary.preTokenizer?.name;
  }

  /** Never adds BOS/EOS. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    this.encodeInto(text, options, ids, undefined);
    return ids;
  }

  /**
   * Ids plus, for each token, the UTF-16 offset in `text` where it starts. A token that begins
   * inside a multi-byte character gets that character's offset; where NFC normalization
   * (Qwen) changed a stretch of text, its tokens get the stretch's start.
   */
  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodedText {
    const ids: number[] = [];
    const starts: number[] = [];
    this.encodeInto(text, options, ids, starts);
    return { ids, starts };
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      if (options.skipSpecial && this.isSpecial(id)) continue;
      const bytes = this.tokenBytes(id);
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return newUtf8Decoder().decode(all);
  }

  /** Streaming detokenizer: push() returns only complete characters; end() flushes (invalid leftovers become U+FFFD). */
  createStreamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    return createTokenStreamDecoder((id) => (options.skipSpecial && this.isSpecial(id) ? undefined : this.tokenBytes(id)));
  }

  /** The bytes one token stands for (UTF-8 text; a byte token may hold part of a character). */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.bytes.of(id);
  }

  /** The vocabulary entry of a token as stored ("<|im_end|>", "Ġthe", "▁the", "<0x0A>"). */
  tokenText(id: number): string {
    this.checkId(id);
    return this.vocabulary.tokens[id];
  }

  /** Control, unknown and unused tokens, and the BOS/EOS/EOT ids: not text. */
  isSpecial(id: number): boolean {
    this.checkId(id);
    return this.special[id] === 1;
  }

  /** The id of the vocabulary entry spelled exactly `text` as stored ("<|im_end|>", "Ġthe", "▁the"); added tokens first. */
  tokenId(text: string): number | undefined {
    if (this.idByText === undefined) {
      const { tokens, tokenTypes } = this.vocabulary;
      const byText = new Map<string, number>();
      for (let id = 0; id < tokens.length; id++) if (!isAddedTokenType(tokenTypes[id])) byText.set(tokens[id], id);
      for (let id = tokens.length - 1; id >= 0; id--) if (isAddedTokenType(tokenTypes[id])) byText.set(tokens[id], id);
      this.idByText = byText;
    }
    return this.idByText.get(text);
  }

  private encodeInto(text: string, options: EncodeOptions, ids: number[], starts: number[] | undefined): void {
    const sections: TextSection[] = options.parseSpecial ? this.allAddedTokens.split(text, this.literalFilter(options.literalSpans)) : this.userDefinedTokens.split(text);
    const spacePrefix = this.vocabulary.addSpacePrefix;
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i];
      if (section.kind === 'token') {
        ids.push(section.id);
        starts?.push(section.start);
      } else {
        const prefix = spacePrefix && (i === 0 ? options.startsPrompt === true : true);
        this.runEncoder.encodeRun(text, section.start, section.end, prefix, ids, starts);
      }
    }
  }

  /** Turns down control tokens that overlap a literal span; user-defined tokens match there as in plain text. */
  private literalFilter(spans: EncodeOptions['literalSpans']): ((start: number, end: number, id: number) => boolean) | undefined {
    if (spans === undefined || spans.length === 0) return undefined;
    return (start, end, id) =>
      this.vocabulary.tokenTypes[id] === TokenType.USER_DEFINED || !spans.some((span) => start < span.end && end > span.start);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}
