// The base models "LoRA Lab: Download Model" offers: the article's (Llama 2, Mistral, Phi-1.5, Falcon)
// and current small ones. Families the engine cannot load (model-shape.ts: Llama, Mistral, Qwen2, Phi,
// Falcon) carry the reason; gated repos need their license accepted on the model page and HF_TOKEN.

export interface CatalogModel {
  repo: string;
  /** Parameters, as the model card says ('7B'). */
  size: string;
  architecture: string;
  gated: boolean;
  /** Why the engine cannot load it yet (absent: it can). */
  unsupported?: string;
  /** What to know before choosing it (shown under the entry). */
  note?: string;
}

const CPU_BY_DEFAULT = (family: string) =>
  `${family} runs on the CPU engine by default (device: auto); its CUDA path (device: cuda) is compiled but not yet verified on a GPU`;

export const MODEL_CATALOG: readonly CatalogModel[] = [
  { repo: 'meta-llama/Llama-2-7b-hf', size: '7B', architecture: 'LlamaForCausalLM', gated: true },
  { repo: 'meta-llama/Llama-2-13b-hf', size: '13B', architecture: 'LlamaForCausalLM', gated: true },
  { repo: 'mistralai/Mistral-7B-v0.1', size: '7B', architecture: 'MistralForCausalLM', gated: true },
  { repo: 'microsoft/phi-1_5', size: '1.4B', architecture: 'PhiForCausalLM', gated: false, note: CPU_BY_DEFAULT('Phi') },
  { repo: 'tiiuae/falcon-40b', size: '40B', architecture: 'FalconForCausalLM', gated: false, note: CPU_BY_DEFAULT('Falcon') },
  { repo: 'meta-llama/Llama-3.2-1B', size: '1.2B', architecture: 'LlamaForCausalLM', gated: true },
  { repo: 'Qwen/Qwen2.5-0.5B', size: '0.5B', architecture: 'Qwen2ForCausalLM', gated: false },
  { repo: 'Qwen/Qwen2.5-1.5B', size: '1.5B', architecture: 'Qwen2ForCausalLM', gated: false },
  { repo: 'HuggingFaceTB/SmolLM2-135M', size: '135M', architecture: 'LlamaForCausalLM', gated: false },
  { repo: 'HuggingFaceTB/SmolLM2-360M', size: '360M', architecture: 'LlamaForCausalLM', gated: false },
];
