// The project settings form fields, shared by "new project" and the workspace's settings panel.
import { useState } from 'react';
import { SelectField, TextField } from '@/components/field';
import { useI18n, type MessageKey } from '@/i18n';
import { CUSTOM_DURATION, DURATIONS, GRID_COUNTS, IMAGE_SIZES, LANGUAGES, VISUAL_STYLES } from '../options';

export interface SettingsValues {
  target_duration: string;
  language: string;
  visual_style: string;
  image_size: string;
  image_count: number;
}

interface Props {
  values: SettingsValues;
  onChange: (change: Partial<SettingsValues>) => void;
  disabled?: boolean;
}

export function SettingsFields({ values, onChange, disabled }: Props) {
  const { t } = useI18n();
  const preset = (DURATIONS as readonly string[]).includes(values.target_duration);
  const [custom, setCustom] = useState(preset ? '' : values.target_duration);
  const [customMode, setCustomMode] = useState(!preset);

  return (
    <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
      <SelectField
        label={t('project.duration')}
        disabled={disabled}
        value={customMode ? 'custom' : values.target_duration}
        onChange={(e) => {
          if (e.target.value === 'custom') {
            setCustomMode(true);
          } else {
            setCustomMode(false);
            onChange({ target_duration: e.target.value });
          }
        }}
      >
        {DURATIONS.map((d) => (
          <option key={d} value={d}>
            {d}
          </option>
        ))}
        <option value="custom">{t('project.durationCustom')}</option>
      </SelectField>
      {customMode ? (
        <TextField
          label={t('project.durationCustom')}
          hint={t('project.durationCustomHint')}
          disabled={disabled}
          value={custom}
          onChange={(e) => {
            setCustom(e.target.value);
            const value = e.target.value.trim().toLowerCase();
            if (CUSTOM_DURATION.test(value)) onChange({ target_duration: value });
          }}
        />
      ) : (
        <SelectField label={t('project.language')} disabled={disabled} value={values.language} onChange={(e) => onChange({ language: e.target.value })}>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {t(`language.${l}` as MessageKey)}
            </option>
          ))}
        </SelectField>
      )}
      {customMode && (
        <SelectField label={t('project.language')} disabled={disabled} value={values.language} onChange={(e) => onChange({ language: e.target.value })}>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {t(`language.${l}` as MessageKey)}
            </option>
          ))}
        </SelectField>
      )}
      <SelectField label={t('project.style')} disabled={disabled} value={values.visual_style} onChange={(e) => onChange({ visual_style: e.target.value })}>
        {VISUAL_STYLES.map((s) => (
          <option key={s} value={s}>
            {t(`style.${s}` as MessageKey)}
          </option>
        ))}
      </SelectField>
      <SelectField label={t('project.size')} disabled={disabled} value={values.image_size} onChange={(e) => onChange({ image_size: e.target.value })}>
        {IMAGE_SIZES.map((s) => (
          <option key={s} value={s}>
            {t(s === '1440x2560' ? 'project.sizePortrait' : 'project.sizeLandscape')}
          </option>
        ))}
      </SelectField>
      <SelectField
        label={t('project.gridCount')}
        disabled={disabled}
        value={values.image_count}
        onChange={(e) => onChange({ image_count: Number(e.target.value) })}
      >
        {GRID_COUNTS.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </SelectField>
    </div>
  );
}
