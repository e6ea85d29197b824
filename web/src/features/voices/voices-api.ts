// Voices: what each speech provider offers, and a voice heard before it is chosen.
import { api, authFetch, unwrap } from '@/api/client';
import { toApiError } from '@/api/errors';
import type { components } from '@/api/schema';
import type { CharacterVoice } from '@/api/types';

export type ProviderVoices = components['schemas']['ProviderVoices'];
export interface VoiceOption {
  id: string;
  name: string;
  language: string;
  gender: string;
}

export async function listVoices(): Promise<ProviderVoices[]> {
  return unwrap(api.GET('/api/v1/ai/voices', {}));
}

/** The voices of `provider`, typed (the API lists them as objects). */
export function voicesOf(all: ProviderVoices[] | undefined, provider: string | undefined): VoiceOption[] {
  const found = all?.find((p) => p.provider === (provider ?? 'local')) ?? all?.[0];
  return (found?.voices ?? []) as unknown as VoiceOption[];
}

/** Speaks a sample in `voice` and answers it as a playable URL (the caller revokes it). */
export async function previewVoice(voice: CharacterVoice, language: string): Promise<string> {
  const body = {
    ...(voice.provider ? { provider: voice.provider } : {}),
    ...(voice.voiceId ? { voiceId: voice.voiceId } : {}),
    ...(voice.speed !== undefined ? { speed: voice.speed } : {}),
    ...(voice.pitch !== undefined ? { pitch: voice.pitch } : {}),
    ...(voice.emotion ? { emotion: voice.emotion } : {}),
    language,
  };
  const request = new Request(new URL('/api/v1/ai/speech/preview', globalThis.location.origin), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const response = await authFetch(request);
  if (!response.ok) throw toApiError(await response.json().catch(() => undefined), response.status);
  return URL.createObjectURL(await response.blob());
}
