// The project settings' choices (they mirror the server's domain settings).
export const LANGUAGES = ['zh', 'en', 'ja', 'fr', 'es'] as const;
export const VISUAL_STYLES = [
  'xianxia',
  'cute-cartoon',
  'ink-wash',
  'cyberpunk',
  'mecha',
  'anime',
  'realistic',
  'crayon',
  'modern-city',
] as const;
export const IMAGE_SIZES = ['1440x2560', '2560x1440'] as const;
export const DURATIONS = ['30s', '60s', '2min', '5min'] as const;
export const GRID_COUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
/** Matches the server's rule: 5–3600 s, or 1–60 min. */
export const CUSTOM_DURATION = /^\d+(s|min)$/;
