// Names for the schema's types, and the project documents (DESIGN §2), which the OpenAPI
// document only calls "object": they keep their camelCase field names on the wire.
import type { components } from './schema';

type Schemas = components['schemas'];
export type User = Schemas['UserView'];
export type ProjectListItem = Schemas['ProjectListItemView'];
export type ProjectRole = Schemas['ProjectRole'];
export type Pagination = Schemas['Pagination'];
export type Task = Schemas['TaskView'];
export type Member = Schemas['MemberView'];
export type ProviderView = Schemas['ProviderView'];
export type ProviderSettings = Schemas['ProviderSettings'];
export type ImportReport = Schemas['ImportReport'];
export type StorageUsage = Schemas['UsageView'];
export type Target = Schemas['Target'];
export type Take = Schemas['TakeView'];
export type Estimate = Schemas['Estimate'];
export type Amount = Schemas['Amount'];
export type BudgetView = Schemas['BudgetView'];
export type SpendReport = Schemas['SpendReport'];

export type SlotStatus = 'pending' | 'generating' | 'completed' | 'failed';

export interface CharacterVariation {
  id: string;
  name: string;
  visualPrompt: string;
  referenceImage?: string | null;
  referenceImageFileId?: string | null;
  stale?: boolean;
}

export interface Character {
  id: string;
  name: string;
  gender: string;
  age: string;
  personality: string;
  visualPrompt?: string;
  referenceImage?: string | null;
  referenceImageFileId?: string | null;
  /** The chosen picture was made from inputs that have changed since (set by the server). */
  stale?: boolean;
  variations: CharacterVariation[];
  /** How the character speaks; absent: the speech provider's default voice. */
  voice?: CharacterVoice;
}

/** A speech provider's voice and its settings (each optional). */
export interface CharacterVoice {
  provider?: string;
  voiceId?: string;
  /** 0.5–2. */
  speed?: number;
  /** Semitones, −12 to 12. */
  pitch?: number;
  emotion?: 'happy' | 'sad' | 'angry' | 'fearful' | 'surprised' | 'calm';
}

/** A shot's dialogue, spoken (set by the server). */
export interface ShotVoice {
  audioUrl?: string | null;
  audioFileId?: string | null;
  /** Seconds the lines take to say. */
  duration?: number;
  status?: SlotStatus;
  stale?: boolean;
}

export interface Scene {
  id: string;
  location: string;
  time: string;
  atmosphere: string;
  visualPrompt?: string;
  referenceImage?: string | null;
  referenceImageFileId?: string | null;
  stale?: boolean;
}

export interface StoryParagraph {
  id: string | number;
  text: string;
  sceneRefId: string;
}

export interface ScriptData {
  title: string;
  genre: string;
  logline: string;
  targetDuration?: string;
  language?: string;
  characters: Character[];
  scenes: Scene[];
  storyParagraphs: StoryParagraph[];
}

export type KeyframeType = 'start' | 'end' | 'full';

export interface Keyframe {
  id: string;
  type: KeyframeType;
  visualPrompt: string;
  imageUrl?: string | null;
  imageFileId?: string | null;
  status: SlotStatus;
  stale?: boolean;
}

export interface VideoInterval {
  id: string;
  startKeyframeId: string;
  endKeyframeId: string;
  duration: number;
  motionStrength: number;
  videoUrl?: string | null;
  videoFileId?: string | null;
  status: SlotStatus;
  stale?: boolean;
}

export interface Shot {
  id: string;
  sceneId: string;
  actionSummary: string;
  dialogue?: string;
  cameraMovement: string;
  shotSize?: string;
  characters: string[];
  characterVariations?: Record<string, string>;
  keyframes: Keyframe[];
  interval?: VideoInterval | null;
  voice?: ShotVoice | null;
}

/** A whole project as the web app holds it: the server's view with typed documents. */
export interface Project extends Omit<Schemas['ProjectView'], 'script_data' | 'shots'> {
  script_data: ScriptData | null;
  shots: Shot[];
}
