import type { Kysely, Transaction } from 'kysely';
import type { HistoryDatabase } from './database.js';
import type { Actor } from './executions.js';
import type { LabRow, LabStudentRow, LabTemplateRow, LabTokenRow, Tables } from './tables.js';

export interface SavedTemplate {
  name: string;
  /** The template as it was validated when saved; the labs domain reads it back. */
  spec: unknown;
  savedAt: Date;
  savedBy: string;
}

export interface LabEntry {
  name: string;
  template: unknown;
  state: string;
  createdAt: Date;
  expiresAt: Date;
  creator: Actor;
}

export interface StudentEntry {
  lab: string;
  id: string;
  displayName: string;
  passwordHash: string;
  state: string;
  reason: string | null;
  addedAt: Date;
}

export interface TokenEntry {
  id: string;
  lab: string;
  student: string;
  sha256: string;
  createdAt: Date;
  revokedAt: Date | null;
}

type Db = Kysely<Tables> | Transaction<Tables>;

/** Labs, their students and tokens, and saved templates, in the history database. */
export class LabStore {
  constructor(private readonly database: HistoryDatabase) {}

  private get db(): Kysely<Tables> {
    return this.database.db;
  }

  async saveTemplate(template: SavedTemplate): Promise<void> {
    const row = { name: template.name, spec: JSON.stringify(template.spec), saved_at: template.savedAt.toISOString(), saved_by: template.savedBy };
    await this.db
      .insertInto('lab_templates')
      .values(row)
      .onConflict((c) => c.column('name').doUpdateSet({ spec: row.spec, saved_at: row.saved_at, saved_by: row.saved_by }))
      .execute();
  }

  async templates(): Promise<SavedTemplate[]> {
    return (await this.db.selectFrom('lab_templates').selectAll().orderBy('name').execute()).map(templateEntry);
  }

  async template(name: string): Promise<SavedTemplate | undefined> {
    const row = await this.db.selectFrom('lab_templates').selectAll().where('name', '=', name).executeTakeFirst();
    return row && templateEntry(row);
  }

  /** A new lab with its students and their tokens, all or nothing. */
  async createLab(lab: LabEntry, students: StudentEntry[], tokens: TokenEntry[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('labs').values(labRow(lab)).execute();
      await this.insertStudents(tx, students, tokens);
    });
  }

  async addStudents(students: StudentEntry[], tokens: TokenEntry[]): Promise<void> {
    await this.db.transaction().execute((tx) => this.insertStudents(tx, students, tokens));
  }

  private async insertStudents(tx: Db, students: StudentEntry[], tokens: TokenEntry[]): Promise<void> {
    // SQLite takes at most 32,766 bound values per statement: 7 a row.
    for (let i = 0; i < students.length; i += 1000) await tx.insertInto('lab_students').values(students.slice(i, i + 1000).map(studentRow)).execute();
    for (let i = 0; i < tokens.length; i += 1000) await tx.insertInto('lab_tokens').values(tokens.slice(i, i + 1000).map(tokenRow)).execute();
  }

  async labs(): Promise<LabEntry[]> {
    return (await this.db.selectFrom('labs').selectAll().orderBy('name').execute()).map(labEntry);
  }

  async lab(name: string): Promise<LabEntry | undefined> {
    const row = await this.db.selectFrom('labs').selectAll().where('name', '=', name).executeTakeFirst();
    return row && labEntry(row);
  }

  async students(lab: string): Promise<StudentEntry[]> {
    return (await this.db.selectFrom('lab_students').selectAll().where('lab', '=', lab).orderBy('id').execute()).map(studentEntry);
  }

  async student(lab: string, id: string): Promise<StudentEntry | undefined> {
    const row = await this.db.selectFrom('lab_students').selectAll().where('lab', '=', lab).where('id', '=', id).executeTakeFirst();
    return row && studentEntry(row);
  }

  /** Students whose provisioning has not ended, in every lab: a start resumes them. */
  async unsettledStudents(states: readonly string[]): Promise<StudentEntry[]> {
    return (await this.db.selectFrom('lab_students').selectAll().where('state', 'in', states).orderBy('lab').orderBy('id').execute()).map(studentEntry);
  }

  async countStudents(): Promise<number> {
    const row = await this.db.selectFrom('lab_students').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async setStudentState(lab: string, id: string, state: string, reason: string | null): Promise<void> {
    await this.db.updateTable('lab_students').set({ state, reason }).where('lab', '=', lab).where('id', '=', id).execute();
  }

  async setLab(name: string, change: { state?: string; expiresAt?: Date }): Promise<void> {
    await this.db
      .updateTable('labs')
      .set({ ...(change.state && { state: change.state }), ...(change.expiresAt && { expires_at: change.expiresAt.toISOString() }) })
      .where('name', '=', name)
      .execute();
  }

  /** Forgets a student and its tokens. */
  async removeStudent(lab: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('lab_tokens').where('lab', '=', lab).where('student', '=', id).execute();
      await tx.deleteFrom('lab_students').where('lab', '=', lab).where('id', '=', id).execute();
    });
  }

  /** Forgets a lab, its students and tokens; what they did stays in the history. */
  async removeLab(name: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('lab_tokens').where('lab', '=', name).execute();
      await tx.deleteFrom('lab_students').where('lab', '=', name).execute();
      await tx.deleteFrom('labs').where('name', '=', name).execute();
    });
  }

  /** Every token, or a student's. */
  async tokens(student?: { lab: string; id: string }): Promise<TokenEntry[]> {
    let query = this.db.selectFrom('lab_tokens').selectAll();
    if (student) query = query.where('lab', '=', student.lab).where('student', '=', student.id);
    return (await query.orderBy('created_at').orderBy('id').execute()).map(tokenEntry);
  }

  async token(id: string): Promise<TokenEntry | undefined> {
    const row = await this.db.selectFrom('lab_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && tokenEntry(row);
  }

  async addToken(token: TokenEntry): Promise<void> {
    await this.db.insertInto('lab_tokens').values(tokenRow(token)).execute();
  }

  /** Marks a token revoked; false when there is no such token. */
  async revokeToken(id: string, at: Date): Promise<boolean> {
    const result = await this.db.updateTable('lab_tokens').set({ revoked_at: at.toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

const templateEntry = (row: LabTemplateRow): SavedTemplate => ({ name: row.name, spec: JSON.parse(row.spec), savedAt: new Date(row.saved_at), savedBy: row.saved_by });

const labRow = (lab: LabEntry): LabRow => ({
  name: lab.name,
  template: JSON.stringify(lab.template),
  state: lab.state,
  created_at: lab.createdAt.toISOString(),
  expires_at: lab.expiresAt.toISOString(),
  token_id: lab.creator.tokenId,
  role: lab.creator.role,
});

const labEntry = (row: LabRow): LabEntry => ({
  name: row.name,
  template: JSON.parse(row.template),
  state: row.state,
  createdAt: new Date(row.created_at),
  expiresAt: new Date(row.expires_at),
  creator: { tokenId: row.token_id, role: row.role },
});

const studentRow = (s: StudentEntry): LabStudentRow => ({
  lab: s.lab,
  id: s.id,
  display_name: s.displayName,
  password_hash: s.passwordHash,
  state: s.state,
  reason: s.reason,
  added_at: s.addedAt.toISOString(),
});

const studentEntry = (row: LabStudentRow): StudentEntry => ({
  lab: row.lab,
  id: row.id,
  displayName: row.display_name,
  passwordHash: row.password_hash,
  state: row.state,
  reason: row.reason,
  addedAt: new Date(row.added_at),
});

const tokenRow = (t: TokenEntry): LabTokenRow => ({
  id: t.id,
  lab: t.lab,
  student: t.student,
  sha256: t.sha256,
  created_at: t.createdAt.toISOString(),
  revoked_at: t.revokedAt?.toISOString() ?? null,
});

const tokenEntry = (row: LabTokenRow): TokenEntry => ({
  id: row.id,
  lab: row.lab,
  student: row.student,
  sha256: row.sha256,
  createdAt: new Date(row.created_at),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
});
