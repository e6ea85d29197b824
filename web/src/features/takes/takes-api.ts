// Takes, estimates, spending and budgets: thin calls over the typed client.
import { api, unwrap } from '@/api/client';
import type { Amount, BudgetView, Estimate, SpendReport, Take, Task } from '@/api/types';
import type { Target } from '@/api/types';
import type { components } from '@/api/schema';

/** The key the server gives a slot among takes (ids with `%` and `/` escaped). */
export function takeSlotKey(slot: { type: 'keyframe'; shotId: string; keyframeId: string } | { type: 'clip'; shotId: string } | { type: 'voice'; shotId: string } | { type: 'character'; id: string } | { type: 'variation'; characterId: string; id: string } | { type: 'scene'; id: string } | { type: 'film' }): string {
  const escape = (id: string) => id.replaceAll('%', '%25').replaceAll('/', '%2F');
  switch (slot.type) {
    case 'keyframe':
      return `keyframe/${escape(slot.shotId)}/${escape(slot.keyframeId)}`;
    case 'clip':
      return `clip/${escape(slot.shotId)}`;
    case 'voice':
      return `voice/${escape(slot.shotId)}`;
    case 'character':
      return `character/${escape(slot.id)}`;
    case 'variation':
      return `variation/${escape(slot.characterId)}/${escape(slot.id)}`;
    case 'scene':
      return `scene/${escape(slot.id)}`;
    case 'film':
      return 'film';
  }
}

/** The take slot of an image target. */
export function targetSlotKey(target: Target): string {
  switch (target.type) {
    case 'keyframe':
      return takeSlotKey({ type: 'keyframe', shotId: target.shot_id, keyframeId: target.keyframe_id });
    case 'character':
      return takeSlotKey({ type: 'character', id: target.character_id });
    case 'variation':
      return takeSlotKey({ type: 'variation', characterId: target.character_id, id: target.variation_id });
    case 'scene':
      return takeSlotKey({ type: 'scene', id: target.scene_id });
  }
}

export async function listTakes(projectId: string, slot: string): Promise<Take[]> {
  const { takes } = await unwrap(api.GET('/api/v1/projects/{id}/takes', { params: { path: { id: projectId }, query: { slot } } }));
  return takes;
}

export async function chooseTake(projectId: string, takeId: string): Promise<void> {
  await unwrap(api.POST('/api/v1/projects/{id}/takes/{take_id}/choose', { params: { path: { id: projectId, take_id: takeId } } }));
}

export async function pinTake(projectId: string, takeId: string, pinned: boolean): Promise<Take> {
  const { take } = await unwrap(
    api.PATCH('/api/v1/projects/{id}/takes/{take_id}', { params: { path: { id: projectId, take_id: takeId } }, body: { pinned } }),
  );
  return take;
}

export async function deleteTake(projectId: string, takeId: string): Promise<void> {
  await unwrap(api.DELETE('/api/v1/projects/{id}/takes/{take_id}', { params: { path: { id: projectId, take_id: takeId } } }));
}

export async function rerunTake(projectId: string, takeId: string): Promise<Task> {
  const { task } = await unwrap(api.POST('/api/v1/projects/{id}/takes/{take_id}/rerun', { params: { path: { id: projectId, take_id: takeId } } }));
  return task;
}

export type EstimateRequest = components['schemas']['EstimateRequest'];

export async function estimate(body: EstimateRequest): Promise<Estimate> {
  return unwrap(api.POST('/api/v1/ai/estimate', { body }));
}

export async function spending(days: number, groupBy: 'day' | 'project' | 'provider' | 'model'): Promise<SpendReport> {
  return unwrap(api.GET('/api/v1/usage/spending', { params: { query: { days, group_by: groupBy } } }));
}

export async function myBudget(): Promise<BudgetView> {
  return unwrap(api.GET('/api/v1/budgets'));
}

export async function setMyBudget(monthly: Record<string, string | null>): Promise<BudgetView> {
  return unwrap(api.PUT('/api/v1/budgets', { body: { monthly } }));
}

export async function projectBudget(projectId: string): Promise<BudgetView> {
  return unwrap(api.GET('/api/v1/projects/{id}/budget', { params: { path: { id: projectId } } }));
}

export async function setProjectBudget(projectId: string, monthly: Record<string, string | null>): Promise<BudgetView> {
  return unwrap(api.PUT('/api/v1/projects/{id}/budget', { params: { path: { id: projectId } }, body: { monthly } }));
}

/** `0.053000 USD` as people read it: `US$0.053` / `¥0.245`, trailing zeros trimmed. */
export function money(amount: Pick<Amount, 'amount' | 'currency'>): string {
  const [whole, fraction = ''] = amount.amount.split('.');
  const trimmed = fraction.replace(/0+$/, '').padEnd(2, '0');
  const symbol = amount.currency === 'CNY' ? '¥' : amount.currency === 'USD' ? 'US$' : `${amount.currency} `;
  return `${symbol}${whole}.${trimmed}`;
}
