// Sharing a project (owner only): invite by email as viewer or editor, change a role, remove.
// An address with no account yet gets an invitation: a link to register with, listed until used.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { SelectField, TextField } from '@/components/field';
import { EmptyState, ErrorNote, Spinner } from '@/components/feedback';
import { useI18n } from '@/i18n';

const membersKey = (id: string) => ['projects', 'members', id] as const;

export function MembersDialog({ projectId, onClose }: { projectId: string; onClose: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const members = useQuery({
    queryKey: membersKey(projectId),
    queryFn: () => unwrap(api.GET('/api/v1/projects/{id}/members', { params: { path: { id: projectId } } })),
  });
  const refresh = (data: Awaited<ReturnType<typeof members.refetch>>['data']) => client.setQueryData(membersKey(projectId), data);
  const share = useMutation({
    mutationFn: (body: { email: string; role: string }) =>
      unwrap(api.POST('/api/v1/projects/{id}/share', { params: { path: { id: projectId } }, body })),
    onSuccess: refresh,
  });
  const withdraw = useMutation({
    mutationFn: (address: string) =>
      unwrap(api.DELETE('/api/v1/projects/{id}/invitations/{email}', { params: { path: { id: projectId, email: address } } })),
    onSuccess: refresh,
  });
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (link: string) => {
    await navigator.clipboard?.writeText(link).catch(() => undefined);
    setCopied(link);
  };
  const remove = useMutation({
    mutationFn: (userId: string) =>
      unwrap(api.DELETE('/api/v1/projects/{id}/members/{user_id}', { params: { path: { id: projectId, user_id: userId } } })),
    onSuccess: refresh,
  });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('editor');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    share.mutate({ email: email.trim(), role }, { onSuccess: () => setEmail('') });
  };

  return (
    <Dialog title={t('members.title')} onClose={onClose} wide>
      <form className="mb-4 flex flex-wrap items-end gap-2" onSubmit={submit}>
        <div className="min-w-56 flex-1">
          <TextField label={t('members.email')} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <SelectField label={t('members.role')} value={role} onChange={(e) => setRole(e.target.value)}>
          <option value="editor">{t('role.editor')}</option>
          <option value="viewer">{t('role.viewer')}</option>
        </SelectField>
        <Button type="submit" variant="primary" disabled={share.isPending}>
          {t('members.invite')}
        </Button>
      </form>
      <ErrorNote error={share.error ?? remove.error ?? withdraw.error ?? members.error} />
      {!!members.data?.invitations.length && (
        <section className="mb-4 rounded-md border border-sky-200 bg-sky-50 p-3" data-testid="invitations">
          <h3 className="mb-1 text-sm font-medium text-sky-900">{t('members.invitations')}</h3>
          <p className="mb-2 text-xs text-sky-900/80">{t('members.invitationsHint')}</p>
          <ul className="flex flex-col gap-2">
            {members.data.invitations.map((invitation) => {
              const link = `${window.location.origin}${invitation.register_path}`;
              return (
                <li key={invitation.email} className="flex flex-wrap items-center gap-2 text-sm" data-testid="invitation">
                  <span className="mr-auto">
                    {invitation.email} · {t(`role.${invitation.role as 'editor' | 'viewer'}`)}
                  </span>
                  <input
                    readOnly
                    aria-label={t('members.inviteLink', { email: invitation.email })}
                    value={link}
                    onFocus={(e) => e.currentTarget.select()}
                    className="w-64 max-w-full rounded border border-sky-200 bg-white px-2 py-1 text-xs"
                  />
                  <Button size="sm" variant="secondary" onClick={() => void copy(link)}>
                    {copied === link ? t('members.copied') : t('members.copyLink')}
                  </Button>
                  <Button size="sm" variant="ghost" onClick={() => withdraw.mutate(invitation.email)}>
                    {t('members.withdraw')}
                  </Button>
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {members.isPending ? (
        <Spinner />
      ) : members.data?.members.length ? (
        <ul className="divide-y divide-stone-200">
          {members.data.members.map((m) => (
            <li key={m.user_id} className="flex items-center gap-3 py-2 text-sm">
              <div className="mr-auto">
                <p className="font-medium">{m.name}</p>
                <p className="text-xs text-stone-500">{m.email}</p>
              </div>
              <select
                aria-label={`${t('members.role')}: ${m.email}`}
                className="rounded border border-stone-300 px-2 py-1 text-xs"
                value={m.role}
                onChange={(e) => share.mutate({ email: m.email, role: e.target.value })}
              >
                <option value="editor">{t('role.editor')}</option>
                <option value="viewer">{t('role.viewer')}</option>
              </select>
              <Button size="sm" variant="ghost" onClick={() => remove.mutate(m.user_id)}>
                {t('members.remove')}
              </Button>
            </li>
          ))}
        </ul>
      ) : (
        <EmptyState>{t('members.empty')}</EmptyState>
      )}
    </Dialog>
  );
}
