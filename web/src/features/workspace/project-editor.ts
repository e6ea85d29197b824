// The open project as the user edits it: the last version the server confirmed plus a draft of
// changed top-level fields, saved one second after the last keystroke with the version the draft
// was based on. A 409 never overwrites anything unseen: the editor loads the current project and
// merges the draft into it three ways (base, mine, theirs). When no value was changed on both
// sides — typically a generation wrote an image while the user edited text — the merge is saved
// by itself. Otherwise the user chooses: reload (drop the draft) or keep their change (the merge,
// with their value wherever both sides changed the same one).
import type { Project } from '@/api/types';
import { isApiError } from '@/api/errors';
import { merge3 } from '@/lib/three-way-merge';

export const AUTOSAVE_DELAY_MS = 1000;

/** The fields of a project the web app writes with `PUT /projects/{id}`. */
export type ProjectChange = Partial<
  Pick<
    Project,
    | 'title'
    | 'stage'
    | 'target_duration'
    | 'language'
    | 'visual_style'
    | 'image_size'
    | 'image_count'
    | 'keep_takes'
    | 'ai_label'
    | 'genre'
    | 'raw_script'
    | 'script_data'
    | 'shots'
    | 'status'
  >
>;

export type SaveStatus = 'saved' | 'dirty' | 'saving' | 'conflict' | 'error';

/** Waits before saving again after the server could not be reached, the last one repeating. */
export const RETRY_DELAYS_MS = [2000, 5000, 10_000, 30_000];

/** A failure that may pass by itself: no answer, or the server busy or briefly down. */
function passing(error: unknown): boolean {
  return isApiError(error) && (error.code === 'NETWORK_ERROR' || error.status === 429 || error.status >= 500);
}

/** Edits of the same fields closer together than this are one step of undo (typing a word). */
export const UNDO_GROUP_MS = 1000;
/** How many steps of undo are kept. */
export const UNDO_DEPTH = 100;

/** One step of undo: the fields an edit changed, as they were before and after it. */
interface HistoryStep {
  before: ProjectChange;
  after: ProjectChange;
  at: number;
}

/** Fields that are not documents: switching stage is no edit to undo, nor unsaved work to show. */
const NOT_DOCUMENTS = new Set<keyof ProjectChange>(['stage']);

export interface EditorState {
  project: Project;
  status: SaveStatus;
  /** The server's version when a save met a conflict. */
  conflictVersion: number | null;
  /** The fields changed both here and there, when a save met a conflict. */
  conflictFields: (keyof ProjectChange)[];
  /** Who made the other change: an account id, or null for a generation. */
  conflictBy: string | null;
  error: unknown;
  canUndo: boolean;
  canRedo: boolean;
}

export interface EditorBackend {
  save: (id: string, version: number, change: ProjectChange) => Promise<Project>;
  load: (id: string) => Promise<Project>;
}

type Listener = (state: EditorState) => void;

export class ProjectEditor {
  private server: Project;
  private draft: ProjectChange = {};
  /** The server version the draft was made on; what the next save names. */
  private base: number;
  /** The project as it was at `base`, to tell which fields another change touched. */
  private baseProject: Project;
  private status: SaveStatus = 'saved';
  private conflictVersion: number | null = null;
  private conflictFields: (keyof ProjectChange)[] = [];
  private conflictBy: string | null = null;
  private error: unknown = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  /** What the save on its way carries. */
  private sending: ProjectChange | null = null;
  private listeners = new Set<Listener>();
  private state: EditorState;
  /** Saves that failed in a row for a passing reason; the next waits longer. */
  private failures = 0;
  private undoSteps: HistoryStep[] = [];
  private redoSteps: HistoryStep[] = [];

  constructor(
    project: Project,
    private readonly backend: EditorBackend,
    private readonly delayMs = AUTOSAVE_DELAY_MS,
    private readonly clock: () => number = Date.now,
  ) {
    this.server = project;
    this.base = project.version;
    this.baseProject = project;
    this.state = this.compose();
  }

  getState = (): EditorState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Records a change as a step of undo and schedules the save. */
  change(change: ProjectChange): void {
    this.record(change);
    this.apply(change);
  }

  /**
   * Takes back the last step: the fields it changed return to what they were, while whatever
   * changed them since (a generation writing an image into another shot) is kept — the step is
   * undone as a three-way merge over the project as it is now.
   */
  undo(): void {
    const step = this.undoSteps.pop();
    if (!step) return;
    this.redoSteps.push(step);
    this.apply(this.replay(step.after, step.before));
  }

  /** Does again the last step undone. */
  redo(): void {
    const step = this.redoSteps.pop();
    if (!step) return;
    this.undoSteps.push(step);
    this.apply(this.replay(step.before, step.after));
  }

  /** The change from `from` to `to`, laid over the fields as they are now. */
  private replay(from: ProjectChange, to: ProjectChange): ProjectChange {
    const current = this.compose().project;
    const change: Record<string, unknown> = {};
    for (const key of Object.keys(to) as (keyof ProjectChange)[]) {
      change[key] = merge3(from[key], to[key], current[key]).value;
    }
    return change as ProjectChange;
  }

  private record(change: ProjectChange): void {
    const keys = (Object.keys(change) as (keyof ProjectChange)[]).filter((key) => !NOT_DOCUMENTS.has(key));
    if (keys.length === 0) return;
    const current = this.compose().project;
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const key of keys) {
      before[key] = current[key];
      after[key] = change[key];
    }
    const now = this.clock();
    const last = this.undoSteps[this.undoSteps.length - 1];
    const sameFields = last && sameKeys(last.after, after);
    if (last && sameFields && now - last.at < UNDO_GROUP_MS && this.redoSteps.length === 0) {
      last.after = after as ProjectChange;
      last.at = now;
    } else {
      this.undoSteps.push({ before: before as ProjectChange, after: after as ProjectChange, at: now });
      if (this.undoSteps.length > UNDO_DEPTH) this.undoSteps.shift();
    }
    this.redoSteps = [];
  }

  private apply(change: ProjectChange): void {
    if (!this.hasDraft()) this.rebase(this.server);
    this.draft = { ...this.draft, ...change };
    if (this.status !== 'conflict') {
      this.status = 'dirty';
      this.schedule();
    }
    this.emit();
  }

  /**
   * A newer copy of the project from the server (after a task wrote into it, say). Without a
   * draft it simply replaces ours; with one, the draft still wins on screen and its save names the
   * old version, so a clash is shown rather than silently resolved.
   */
  receive(project: Project): void {
    if (project.version < this.server.version) return;
    this.server = project;
    if (!this.hasDraft()) this.rebase(project);
    this.emit();
  }

  /** Saves now (e.g. before leaving the page). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) await this.inFlight;
    if (this.hasDraft() && this.status !== 'conflict') await this.save();
  }

  /** Conflict resolution: take the server's current project and drop the draft. */
  async reload(): Promise<void> {
    const latest = await this.backend.load(this.server.id);
    this.draft = {};
    this.server = latest;
    this.rebase(latest);
    this.conflictVersion = null;
    this.status = 'saved';
    this.emit();
  }

  /** Conflict resolution: save the draft, merged, on top of the server's current version. */
  async keepMine(): Promise<void> {
    const latest = await this.backend.load(this.server.id);
    this.server = latest;
    this.draft = this.mergeInto(latest).draft;
    this.rebase(latest);
    this.conflictVersion = null;
    this.status = 'dirty';
    await this.save();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.listeners.clear();
  }

  private rebase(project: Project): void {
    this.base = project.version;
    this.baseProject = project;
  }

  /** The draft laid over `latest`, field by field, and the fields whose values clashed. */
  private mergeInto(latest: Project): { draft: ProjectChange; conflict: boolean; fields: (keyof ProjectChange)[] } {
    const draft: Record<string, unknown> = {};
    const fields: (keyof ProjectChange)[] = [];
    for (const [key, mine] of Object.entries(this.draft)) {
      const field = key as keyof ProjectChange;
      const merged = merge3(this.baseProject[field], mine, latest[field]);
      draft[key] = merged.value;
      if (merged.conflict) fields.push(field);
    }
    return { draft: draft as ProjectChange, conflict: fields.length > 0, fields };
  }

  /** After a 409: saves the merge by itself when nothing clashed, else asks the user. */
  private async resolveConflict(current: number | null): Promise<void> {
    try {
      const latest = await this.backend.load(this.server.id);
      this.server = latest;
      const { draft, conflict, fields } = this.mergeInto(latest);
      this.conflictFields = fields;
      this.conflictBy = latest.updated_by ?? null;
      if (!conflict) {
        this.draft = draft;
        this.rebase(latest);
        this.status = 'dirty';
        this.schedule(0);
        return;
      }
      this.conflictVersion = latest.version;
    } catch {
      this.conflictVersion = current;
    }
    this.status = 'conflict';
  }

  private hasDraft(): boolean {
    return Object.keys(this.draft).length > 0;
  }

  private schedule(delay = this.delayMs): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, delay);
  }

  private save(): Promise<void> {
    if (this.inFlight) {
      // One save at a time; the change that arrived meanwhile goes out after this one.
      return this.inFlight.then(() => (this.hasDraft() && this.status === 'dirty' ? this.save() : undefined));
    }
    const sent = this.draft;
    this.sending = sent;
    const version = this.base;
    this.status = 'saving';
    this.emit();
    this.inFlight = this.backend
      .save(this.server.id, version, sent)
      .then((saved) => {
        this.server = saved;
        this.rebase(saved);
        // Keep fields changed again while the save was on its way.
        const rest: ProjectChange = {};
        for (const [key, value] of Object.entries(this.draft) as [keyof ProjectChange, unknown][]) {
          if (sent[key] !== value) (rest as Record<string, unknown>)[key] = value;
        }
        this.draft = rest;
        this.error = null;
        this.failures = 0;
        this.status = this.hasDraft() ? 'dirty' : 'saved';
        if (this.hasDraft()) this.schedule();
      })
      .catch(async (error: unknown) => {
        if (isApiError(error, 'CONFLICT')) {
          const current = (error.details as { current_version?: number }).current_version;
          await this.resolveConflict(typeof current === 'number' ? current : null);
        } else {
          this.status = 'error';
          this.error = error;
          // The error clears by itself once the server answers again: the draft is kept and sent
          // again after a wait, longer each time.
          if (passing(error)) {
            this.schedule(RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)]);
            this.failures += 1;
          }
        }
      })
      .finally(() => {
        this.inFlight = null;
        this.sending = null;
        this.emit();
      });
    return this.inFlight;
  }

  /**
   * Pending only the stage the user is in (saved so the project reopens there): nothing a
   * person would call unsaved work, so it is not shown as such.
   */
  private onlyQuietPending(): boolean {
    const keys = Object.keys({ ...this.draft, ...this.sending }) as (keyof ProjectChange)[];
    return keys.length > 0 && keys.every((key) => NOT_DOCUMENTS.has(key));
  }

  private compose(): EditorState {
    const quiet = (this.status === 'dirty' || this.status === 'saving') && this.onlyQuietPending();
    return {
      project: { ...this.server, ...this.draft } as Project,
      status: quiet ? 'saved' : this.status,
      conflictVersion: this.conflictVersion,
      conflictFields: this.conflictFields,
      conflictBy: this.conflictBy,
      error: this.error,
      canUndo: this.undoSteps.length > 0,
      canRedo: this.redoSteps.length > 0,
    };
  }

  private emit(): void {
    this.state = this.compose();
    this.listeners.forEach((listener) => listener(this.state));
  }
}

function sameKeys(a: object, b: object): boolean {
  const left = Object.keys(a).sort();
  const right = Object.keys(b).sort();
  return left.length === right.length && left.every((key, i) => key === right[i]);
}
