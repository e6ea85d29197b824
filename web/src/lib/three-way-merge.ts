// A three-way merge of JSON documents: what "mine" changed since "base" is laid over "theirs".
// Objects merge key by key and lists of objects with an `id` merge item by item, so a user's edit
// of one shot and a generation writing an image into another never collide. Only the same value
// changed differently on both sides is a conflict; there "mine" wins and the caller is told.

type Json = unknown;

export interface MergeResult {
  value: Json;
  conflict: boolean;
}

export function deepEqual(a: Json, b: Json): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIdList(value: Json): value is { id: string | number }[] {
  return Array.isArray(value) && value.every((item) => isObject(item) && (typeof item.id === 'string' || typeof item.id === 'number'));
}

export function merge3(base: Json, mine: Json, theirs: Json): MergeResult {
  if (deepEqual(mine, base)) return { value: theirs, conflict: false };
  if (deepEqual(theirs, base) || deepEqual(mine, theirs)) return { value: mine, conflict: false };
  if (isObject(mine) && isObject(theirs) && (base === undefined || base === null || isObject(base))) {
    return mergeObjects(isObject(base) ? base : {}, mine, theirs);
  }
  if (isIdList(mine) && isIdList(theirs) && (base === undefined || base === null || isIdList(base))) {
    return mergeLists(isIdList(base) ? base : [], mine, theirs);
  }
  return { value: mine, conflict: true };
}

function mergeObjects(base: Record<string, Json>, mine: Record<string, Json>, theirs: Record<string, Json>): MergeResult {
  const value: Record<string, Json> = {};
  let conflict = false;
  for (const key of new Set([...Object.keys(mine), ...Object.keys(theirs), ...Object.keys(base)])) {
    const merged = merge3(base[key], mine[key], theirs[key]);
    conflict ||= merged.conflict;
    if (merged.value !== undefined) value[key] = merged.value;
  }
  return { value, conflict };
}

type Item = { id: string | number } & Record<string, Json>;

function mergeLists(base: Item[], mine: Item[], theirs: Item[]): MergeResult {
  const byId = (items: Item[]) => new Map(items.map((item) => [String(item.id), item]));
  const [baseItems, theirItems] = [byId(base), byId(theirs)];
  const mineIds = new Set(mine.map((item) => String(item.id)));
  const value: Json[] = [];
  let conflict = false;
  for (const item of mine) {
    const id = String(item.id);
    const before = baseItems.get(id);
    const theirsItem = theirItems.get(id);
    if (!theirsItem) {
      // Gone on their side: gone here too unless we changed it (then ours stays, flagged).
      if (before && deepEqual(item, before)) continue;
      if (before) conflict = true;
      value.push(item);
      continue;
    }
    const merged = merge3(before, item, theirsItem);
    conflict ||= merged.conflict;
    value.push(merged.value);
  }
  for (const item of theirs) {
    const id = String(item.id);
    if (mineIds.has(id)) continue;
    const before = baseItems.get(id);
    if (!before) value.push(item); // added on their side
    else if (!deepEqual(item, before)) conflict = true; // we removed what they changed: removal stands, flagged
  }
  return { value, conflict };
}
