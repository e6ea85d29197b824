import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { I18nProvider } from '@/i18n';
import { Dialog } from './dialog';

describe('the dialog', () => {
  it('takes the focus, keeps it inside, and closes on Escape', async () => {
    const onClose = vi.fn();
    render(
      <I18nProvider>
        <button type="button">outside</button>
        <Dialog title="Title" onClose={onClose}>
          <input aria-label="first" />
          <button type="button">last</button>
        </Dialog>
      </I18nProvider>,
    );
    expect(screen.getByLabelText('first')).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'last' })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: '关闭' })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByLabelText('first')).toHaveFocus();
    await userEvent.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalled();
  });
});
