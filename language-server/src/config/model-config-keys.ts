// The older key names a Hugging Face config.json may use for a model's shape, as transformers reads
// them: Falcon configs written before FalconConfig say n_layer, n_head and n_embed (transformers'
// attribute map) and n_head_kv (the RW layout's kv heads). The engine reads the same aliases
// (native/src/io/model_config.cpp, parse_falcon).

const FALCON_ALIASES: Record<string, string> = {
  num_hidden_layers: 'n_layer',
  num_attention_heads: 'n_head',
  hidden_size: 'n_embed',
  num_kv_heads: 'n_head_kv',
};

function isFalcon(json: Record<string, unknown>): boolean {
  const architectures = json.architectures;
  return json.model_type === 'falcon' || (Array.isArray(architectures) && architectures[0] === 'FalconForCausalLM');
}

/** config.json with the current key names filled in from older aliases (a copy; the input is kept). */
export function withCanonicalShapeKeys(json: Record<string, unknown>): Record<string, unknown> {
  if (!isFalcon(json)) return json;
  const out = { ...json };
  for (const [key, alias] of Object.entries(FALCON_ALIASES)) {
    if ((out[key] === undefined || out[key] === null) && out[alias] !== undefined && out[alias] !== null) out[key] = out[alias];
  }
  return out;
}
