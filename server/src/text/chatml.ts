// ChatML, the prompt format used when a GGUF file carries no chat template (as llama.cpp
// does): every message is <|im_start|>role\ncontent<|im_end|>\n, and the generation prompt
// opens an assistant message.
export const CHATML_TEMPLATE = [
  '{%- for message in messages %}',
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "{{- '<|im_start|>assistant\\n' }}",
  '{%- endif %}',
].join('\n');
