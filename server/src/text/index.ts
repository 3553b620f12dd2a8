// The text layer of the server: tokenizer and chat template, both built from GGUF metadata.
export { TextTokenizer } from './tokenizer';
export type { DecodeOptions, EncodeOptions, EncodedText } from './tokenizer';
export type { TokenStreamDecoder } from './token-stream-decoder';
export { ChatTemplate } from './chat-template';
export type { ChatMessage, ChatTemplateFromMetadataOptions, ChatTemplateOptions, ChatTemplateSource } from './chat-template';
export type { RepositoryPromptLayout, RepositoryPromptRequest } from './repository-prompt';
export { SUPPORTED_MODELS } from './gguf-vocabulary';
export { SUPPORTED_PRE_TOKENIZERS } from './pre-tokenizer-families';
