// Each provider as its vendor calls it, and where its keys are made: what a creator looks for
// when the settings page asks for a key.
export interface Vendor {
  /** The vendor's own name for the service. */
  label: string;
  /** The vendor's console page where keys are created. */
  keys?: string;
}

export const VENDORS: Record<string, Vendor> = {
  local: { label: 'CineGen 离线引擎 / Offline engine' },
  openai: { label: 'OpenAI', keys: 'https://platform.openai.com/api-keys' },
  gemini: { label: 'Google Gemini (AI Studio)', keys: 'https://aistudio.google.com/apikey' },
  deepseek: { label: 'DeepSeek 深度求索', keys: 'https://platform.deepseek.com/api_keys' },
  doubao: { label: '豆包 · 火山方舟 (Volcengine Ark)', keys: 'https://console.volcengine.com/ark' },
  'doubao-speech': { label: '豆包语音 (Volcengine Speech · Access Token + App ID)', keys: 'https://console.volcengine.com/speech/app' },
  kling: { label: '可灵 Kling AI', keys: 'https://app.klingai.com/cn/dev/console' },
  minimax: { label: 'MiniMax 海螺', keys: 'https://platform.minimaxi.com' },
  yunwu: { label: '云雾 API (Yunwu)', keys: 'https://yunwu.ai' },
};

export function vendorOf(name: string): Vendor {
  return VENDORS[name] ?? { label: name };
}
