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
    | 'genre'
    | 'raw_script'
    | 'script_data'
    | 'shots'
    | 'status'
  >
>;

export type SaveStatus = 'saved' | 'dirty' | 'saving' | 'conflict' | 'error';

export interface EditorState {
  project: Project;
  status: SaveStatus;
  /** The server's version when a save met a conflict. */
  conflictVersion: number | null;
  error: unknown;
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
  private error: unknown = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private listeners = new Set<Listener>();
  private state: EditorState;

  constructor(
    project: Project,
    private readonly backend: EditorBackend,
    private readonly delayMs = AUTOSAVE_DELAY_MS,
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

  /** Records a change and schedules the save. */
  change(change: ProjectChange): void {
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

  /** The draft laid over `latest`, field by field, and whether any value clashed. */
  private mergeInto(latest: Project): { draft: ProjectChange; conflict: boolean } {
    const draft: Record<string, unknown> = {};
    let conflict = false;
    for (const [key, mine] of Object.entries(this.draft)) {
      const field = key as keyof Project;
      const merged = merge3(this.baseProject[field], mine, latest[field]);
      draft[key] = merged.value;
      conflict ||= merged.conflict;
    }
    return { draft: draft as ProjectChange, conflict };
  }

  /** After a 409: saves the merge by itself when nothing clashed, else asks the user. */
  private async resolveConflict(current: number | null): Promise<void> {
    try {
      const latest = await this.backend.load(this.server.id);
      this.server = latest;
      const { draft, conflict } = this.mergeInto(latest);
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
        }
      })
      .finally(() => {
        this.inFlight = null;
        this.emit();
      });
    return this.inFlight;
  }

  private compose(): EditorState {
    return {
      project: { ...this.server, ...this.draft } as Project,
      status: this.status,
      conflictVersion: this.conflictVersion,
      error: this.error,
    };
  }

  private emit(): void {
    this.state = this.compose();
    this.listeners.forEach((listener) => listener(this.state));
  }
}
